"""Time as the command sees it: one small object, so tests can run long waits without waiting."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class Clock:
    """Wall time: a monotonic reading for budgets, UTC for what is printed, and a sleep a signal cuts short."""

    def monotonic(self) -> float:
        return time.monotonic()

    def utc_now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Sleep `seconds`, or less when `wake` is set (a signal handler sets it)."""
        if seconds <= 0:
            return
        if wake is None:
            time.sleep(seconds)
        else:
            wake.wait(seconds)
