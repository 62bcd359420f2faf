"""Job lifecycles as pure functions of elapsed clock time.

Simulators never move a job with a sleep or a background thread: a job stores when it was created
and its `Timeline`, and its status at any moment is `timeline.status_at(now - created)`. That is
what lets a `VirtualClock` run a six-hour job in no wall time, and a `ScaledClock` agree across
processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Timeline:
    """Statuses in order, each held for a number of seconds, then `final` for good."""

    phases: tuple[tuple[str, float], ...]
    final: str

    @property
    def total(self) -> float:
        """Seconds from creation until `final`."""
        return sum(seconds for _, seconds in self.phases)

    def status_at(self, elapsed: float | timedelta) -> str:
        """The status `elapsed` seconds after creation (before creation: the first status)."""
        seconds = elapsed.total_seconds() if isinstance(elapsed, timedelta) else elapsed
        for status, length in self.phases:
            if seconds < length:
                return status
            seconds -= length
        return self.final

    def holding(self, status: str, seconds: float) -> Timeline:
        """The same timeline with `status` held for `seconds` (ValueError if it has no such phase)."""
        if status not in (name for name, _ in self.phases):
            raise ValueError(f"no {status} phase")
        phases = tuple((name, seconds if name == status else length) for name, length in self.phases)
        return Timeline(phases, self.final)

    def offset(self, status: str) -> float | None:
        """Seconds after creation at which `status` begins, or None if the timeline never has it."""
        start = 0.0
        for name, length in self.phases:
            if name == status:
                return start
            start += length
        return start if status == self.final else None

    def entered_at(self, status: str, created: datetime) -> datetime | None:
        """The moment a job created at `created` enters `status` (None if it never does)."""
        offset = self.offset(status)
        return None if offset is None else created + timedelta(seconds=offset)
