"""One clock interface for every place that reads time outside orchestrators.

devhost's timers, the simulators' job lifecycles and the poll-policy tests all take a `Clock`, so one
process can run a six-hour job in milliseconds (`VirtualClock`), and separate processes can agree on a
sped-up time (`ScaledClock` with a shared origin). Orchestrators never use this: they read
`context.current_utc_datetime` only.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

UTC = timezone.utc


class Clock(Protocol):
    """What every clock offers: the current time and a way to wait for a later one."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def wait_until(self, when: datetime, stop: threading.Event | None = None) -> bool:
        """Block until `when` (True) or until `stop` is set (False)."""
        ...


class RealClock:
    """Wall time."""

    virtual = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait_until(self, when: datetime, stop: threading.Event | None = None) -> bool:
        return _wait_real(lambda: (when - self.now()).total_seconds(), stop)


class ScaledClock:
    """Wall time sped up `scale` times from `origin`.

    Two processes that share `origin` and `scale` agree on the time, which is how devhost and
    simulators started separately see the same job lifecycles. The default origin is the start of
    the current UTC hour, so processes started within the same hour agree without configuration.
    """

    virtual = False

    def __init__(self, scale: float, origin: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        if origin is None:
            origin = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.origin = origin.astimezone(UTC)

    def now(self) -> datetime:
        real_elapsed = time.time() - self.origin.timestamp()
        return self.origin + timedelta(seconds=real_elapsed * self.scale)

    def wait_until(self, when: datetime, stop: threading.Event | None = None) -> bool:
        return _wait_real(lambda: (when - self.now()).total_seconds() / self.scale, stop)


class VirtualClock:
    """Time that moves only when told to.

    devhost jumps it to the next due timer whenever nothing else can run, so tests of long jobs take
    no wall time. `limit` (optional) caps how far automatic jumps may go, so a test can stop time at
    a chosen moment, act, then let it run on. A hold (`set_hold`) does the same for something that must
    act at a moment no host timer marks (a simulator publishing an event when a job changes status):
    time may reach the held moment but not pass it until the holder moves or drops the hold.
    """

    virtual = True

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime(2026, 1, 1, tzinfo=UTC)).astimezone(UTC)
        self._cond = threading.Condition()
        self.limit: datetime | None = None
        self._holds: dict[str, datetime] = {}

    def now(self) -> datetime:
        with self._cond:
            return self._now

    def advance_to(self, when: datetime) -> datetime:
        """Move time forward to `when` (never backward, never past `limit`); return the new time."""
        with self._cond:
            target = when if self.limit is None else min(when, self.limit)
            if self._holds:
                target = min(target, *self._holds.values())
            if target > self._now:
                self._now = target
                self._cond.notify_all()
            return self._now

    def set_hold(self, holder: str, when: datetime | None) -> None:
        """Let time move up to `when` but not past it until `holder` sets another hold (None drops it).

        Moving a hold is one step, so no jump can slip between dropping the old and placing the new one.
        """
        with self._cond:
            if when is None:
                self._holds.pop(holder, None)
            else:
                self._holds[holder] = when.astimezone(UTC)
            self._cond.notify_all()

    def advance(self, seconds: float) -> datetime:
        """Move time forward by `seconds`."""
        return self.advance_to(self.now() + timedelta(seconds=seconds))

    def wait_until(self, when: datetime, stop: threading.Event | None = None) -> bool:
        with self._cond:
            while self._now < when:
                if stop is not None and stop.is_set():
                    return False
                self._cond.wait(0.05)
            return True


def _wait_real(remaining_seconds, stop: threading.Event | None) -> bool:
    while True:
        remaining = remaining_seconds()
        if remaining <= 0:
            return True
        if stop is None:
            time.sleep(min(remaining, 0.5))
        elif stop.wait(min(remaining, 0.5)):
            return False


def make_clock(kind: str = "real", time_scale: float | None = None, origin: datetime | None = None) -> Clock:
    """Build the clock a command line asks for: `real`, `real` with a time scale, or `virtual`."""
    if kind == "virtual":
        return VirtualClock(origin)
    if kind != "real":
        raise ValueError(f"unknown clock {kind!r}: use real or virtual")
    if time_scale and time_scale != 1:
        return ScaledClock(time_scale, origin)
    return RealClock()
