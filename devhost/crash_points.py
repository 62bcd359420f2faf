"""Crash points: devhost SIGKILLs itself at one exact moment of its work, so a test can prove recovery there.

Random kills rarely land inside a continue-as-new, which lasts a few milliseconds; a crash point lands there
every time. Set `DEVHOST_CRASH_AT` to one point name; the first time the process reaches that point it
writes `devhost: crash point <name> reached in <instance id>` to stderr and kills itself with SIGKILL (no
cleanup, no flush of anything but that line), exactly as an external kill would. Unset, nothing happens.

Points:
- `continue_as_new:before_commit`: an episode decided to continue as new; nothing of it is stored yet.
- `continue_as_new:after_commit`: the new execution's start is stored; it has not run.
"""

from __future__ import annotations

import os
import signal
import sys

SETTING = "DEVHOST_CRASH_AT"
POINTS = frozenset({"continue_as_new:before_commit", "continue_as_new:after_commit"})


def armed_point(environ: dict[str, str] | None = None) -> str | None:
    """The crash point this process is armed with (None when unset); ValueError for an unknown name."""
    value = (os.environ if environ is None else environ).get(SETTING) or None
    if value is not None and value not in POINTS:
        raise ValueError(f"{SETTING}={value!r} is not a crash point; known: {', '.join(sorted(POINTS))}")
    return value


class CrashPoints:
    """Checks each point against the armed one and kills the process at the match."""

    def __init__(self, armed: str | None) -> None:
        self.armed = armed

    def reach(self, point: str, instance_id: str) -> None:
        if point != self.armed:
            return
        sys.stderr.write(f"devhost: crash point {point} reached in {instance_id}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
