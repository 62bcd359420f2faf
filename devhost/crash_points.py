"""Crash points: devhost SIGKILLs itself at one exact moment of its work, so a test can prove recovery there.

Random kills rarely land inside a continue-as-new (a few milliseconds) or between an activity's remote call
and the storing of its result; a crash point lands there every time. Set `DEVHOST_CRASH_AT` to one point
name or several, comma-separated; the first time the process reaches one of them it writes
`devhost: crash point <name> reached in <instance id>` to stderr and kills itself with SIGKILL (no cleanup),
exactly as an external kill would. Unset, nothing happens.

Points:
- `continue_as_new:before_commit`: an episode decided to continue as new; nothing of it is stored yet.
- `continue_as_new:after_commit`: the new execution's start is stored; it has not run.
- `activity_done:<activity>`: the activity returned (its remote call was made); its result is not stored,
  so the restarted host runs it again.

A point may end in `@<text>`: it then fires only in an instance whose id contains that text.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Mapping

SETTING = "DEVHOST_CRASH_AT"
POINT = re.compile(r"(continue_as_new:(before|after)_commit|activity_done:[A-Za-z_]\w*)(@[\w-]+)?")


def armed_points(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The crash points this process is armed with (empty when unset); ValueError for a malformed name."""
    value = (os.environ if environ is None else environ).get(SETTING) or ""
    points = frozenset(p.strip() for p in value.split(",") if p.strip())
    wrong = sorted(p for p in points if not POINT.fullmatch(p))
    if wrong:
        raise ValueError(f"{SETTING}: {', '.join(wrong)} is not a crash point (continue_as_new:before_commit, "
                         "continue_as_new:after_commit or activity_done:<activity>)")
    return points


class CrashPoints:
    """Checks each point reached against the armed ones and kills the process at a match."""

    def __init__(self, armed: frozenset[str]) -> None:
        self.armed = armed

    def reach(self, point: str, instance_id: str) -> None:
        if not any(name == point and needle in instance_id
                   for name, _, needle in (armed.partition("@") for armed in self.armed)):
            return
        sys.stderr.write(f"devhost: crash point {point} reached in {instance_id}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
