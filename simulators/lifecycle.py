"""Job lifecycles as pure functions of elapsed clock time.

Simulators never move a job with a sleep or a background thread: a job stores when it was created
and its `Timeline`, and its status at any moment is `timeline.status_at(now - created)`. That is
what lets a `VirtualClock` run a six-hour job in no wall time, and a `ScaledClock` agree across
processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


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


@dataclass(frozen=True)
class StatusPin:
    """A status a test pinned on a simulated job: reported instead of its lifecycle until `until` (None: until
    unpinned). Any string: platform status enums are open, so a client must survive values it does not know."""

    status: str
    until: datetime | None = None

    @classmethod
    def from_body(cls, body: Any, now: datetime) -> StatusPin | None:
        """The pin a `/_sim/.../status` body `{"status": "...", "seconds": 60}` asks for; None unpins.

        ValueError (a 400 from the simulator) when the body is not of that shape.
        """
        body = body if isinstance(body, Mapping) else {}
        status, seconds = body.get("status"), body.get("seconds")
        if status is not None and not isinstance(status, str):
            raise ValueError("status must be a string or null")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or seconds <= 0):
            raise ValueError("seconds must be a positive number")
        return cls.lasting(status, seconds, now)

    @classmethod
    def lasting(cls, status: str | None, seconds: float | None, now: datetime) -> StatusPin | None:
        """`status` for `seconds` from `now` (None: until unpinned); no status: no pin."""
        if status is None:
            return None
        return cls(status, None if seconds is None else now + timedelta(seconds=seconds))


def pinned_or(pin: StatusPin | None, now: datetime, lifecycle: str) -> str:
    """The status a job reports at `now`: its pin while that holds, else its lifecycle status."""
    if pin is not None and (pin.until is None or now < pin.until):
        return pin.status
    return lifecycle
