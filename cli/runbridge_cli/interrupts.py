"""SIGINT and SIGTERM while the command waits: the first asks for the run's cancel, the second exits at once.

A scheduler cancels a command job by killing it. The handlers only note the signal and wake the wait; the
follower (follow.py) sends the cancel from the main flow, so a signal never lands inside a half-sent request.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import TextIO

from runbridge_cli.outcome import ExitCode

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """Installs the handlers for the duration of a `with` block and restores the previous ones after."""

    def __init__(self, err: TextIO, exit_now: Callable[[int], None] = sys.exit) -> None:
        self.err, self.exit_now = err, exit_now
        self.wake = threading.Event()
        self.count = 0
        self.cancelling: str | None = None  # what is being cancelled ("run <id>"), once the cancel is under way
        self.cancel_sent = False
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        """A signal has arrived."""
        return self.count > 0

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.wake.set()
        if self.count < 2:
            return
        name = signal.Signals(signum).name
        if self.cancel_sent:
            said = f"the cancel of {self.cancelling} was sent; not waiting for it to end"
        elif self.cancelling:
            said = f"the cancel of {self.cancelling} was being sent and may not have arrived"
        else:
            said = "nothing was cancelled"
        self.err.write(f"runbridge: second signal ({name}): exiting now; {said}\n")
        self.err.flush()
        self.exit_now(ExitCode.CANCELLED)
