"""How every benchmark ends: the targets it missed named on stderr and exit status 1, or 0."""

from __future__ import annotations

import sys


def verdict(missed: list[str]) -> int:
    """The script's exit status for these missed targets (none: 0)."""
    if missed:
        print(f"TARGET MISSED: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0
