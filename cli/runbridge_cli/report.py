"""What the command prints: status changes with their time on stderr, results on stdout.

stdout carries only results a scheduler may parse (`name=value` lines, or JSON with --json); everything
said along the way goes to stderr, one line each, starting with the UTC time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from runbridge_cli.clock import Clock


@dataclass
class Reporter:
    """Writes to the command's stdout and stderr, with every text passed through `scrub` (the key cut out)."""

    out: TextIO
    err: TextIO
    clock: Clock
    scrub: Callable[[str], str] = str

    def say(self, text: str) -> None:
        """One line on stderr, with the time."""
        stamp = self.clock.utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")
        self.err.write(self.scrub(f"{stamp} {text}") + "\n")
        self.err.flush()

    def problem(self, text: str) -> None:
        """An error on stderr, without a time (the command ends after it)."""
        self.err.write(self.scrub(f"runbridge: {text}") + "\n")
        self.err.flush()

    def result(self, text: str) -> None:
        self.out.write(self.scrub(text) + "\n")
        self.out.flush()

    def json(self, value: Any) -> None:
        self.result(json.dumps(value, indent=2, sort_keys=True))

    def values(self, values: Mapping[str, Any], prefix: str = "") -> None:
        """`name=value` lines, in name order."""
        for name in sorted(values):
            value = values[name]
            self.result(f"{prefix}{name}={'' if value is None else value}")


def describe_run(record: Mapping[str, Any]) -> str:
    """A run's state in one line: status, the platform's own word, and the error once it has one."""
    text = f"run {record.get('id')}: {record.get('status')}"
    if record.get("remoteStatus"):
        text += f" (remote {record['remoteStatus']})"
    error = record.get("error")
    if isinstance(error, Mapping):
        text += f": {error.get('code')}: {error.get('message')}"
    return text


def describe_chain(record: Mapping[str, Any]) -> str:
    """A chain's state in one line: its status, then each step's."""
    steps = ", ".join(f"{s.get('name')} {s.get('status')}" for s in record.get("steps") or [])
    return f"chain {record.get('id')}: {record.get('status')} [{steps}]"
