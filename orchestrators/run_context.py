"""One run's orchestration in this execution: the Durable context, what the run carries, and the few moves
the submit and poll phases share (publish the record, note a moment, wait or cancel, call an activity, end).

Deterministic: it reads only the context (input, current_utc_datetime, task results).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from core.cloud_events import run_changes
from core.poll_policy import PollPolicy, retry_wait
from core.protocol import (
    CANCEL_EVENT,
    WAKE_EVENT,
    ActivityCall,
    ActivityError,
    RunError,
    RunEvent,
    RunInput,
    read_result,
)
from core.run_events import log_run_event
from core.run_record import RunRecord
from core.status import ErrorCode, RunStatus
from orchestrators.notify import announce

run_log = logging.getLogger("runbridge.run")
# Submit and output reads are idempotent or reconciled on every platform, so a transient failure is tried
# again on a durable timer (an activity never sleeps), as core.poll_policy.retry_wait says.
MAX_MOMENTS = 60  # a run's carried moments: the first (its submit) and the latest ones


class RunContext:
    """The run being orchestrated: its input, its record (replaced by each transition), its moments."""

    def __init__(self, context: df.DurableOrchestrationContext, policy: PollPolicy) -> None:
        self.context = context
        self.policy = policy
        self.input = RunInput.from_dict(context.get_input())
        self.request = dict(self.input.request)
        carried = self.input.run
        self._record = RunRecord.from_dict(carried) if carried else RunRecord.new(self.request, self.now())
        # the run's key moments, carried across continue-as-new (whose history is dropped) for its timeline
        self.moments: list[dict[str, Any]] = [dict(m) for m in self.input.moments]
        # what the run has announced as events so far, carried across continue-as-new as well; None for a run
        # started before events existed: it never hands any off, so its recorded history replays unchanged
        self.notice: dict[str, Any] | None = None if self.input.notice is None else {
            **self.input.notice, "notify": list(self.request.get("notify") or [])}
        self.cancel_event: Any = None
        self.events = self.input.events  # the connection's status events are wired: race their wake-ups
        self.wake_event: Any = None

    @property
    def record(self) -> RunRecord:
        """The run's record as of now."""
        return self._record

    @record.setter
    def record(self, record: RunRecord) -> None:
        """Move the record on (by one of its transitions); what a status read shows moves with it."""
        self._record = record
        self.publish()

    def now(self) -> str:
        return self.context.current_utc_datetime.isoformat()

    def publish(self) -> None:
        """Make the record what a status read shows."""
        self.context.set_custom_status(self.record.to_dict())

    def announce(self, final: bool = False) -> Generator[Any, Any, None]:
        """Hand the events the record now warrants to the run's delivery (orchestrators/notify.py): one short
        activity call where something changed, nothing otherwise; never slows or fails the run."""
        if self.notice is None:
            return
        events = run_changes(self.notice, self.record.to_dict(), self.now())
        if events or self.notice.get("unsent"):
            yield from announce(self.context, self.record.id, self.notice, events, final)

    def listen_for_cancel(self) -> None:
        """The execution's one cancel waiter (poll_loop.py says why there is only one)."""
        self.cancel_event = self.context.wait_for_external_event(CANCEL_EVENT)

    def listen_for_wake(self) -> None:
        """A new wake-up waiter, when the run's events are wired: one at a time (poll_loop.py)."""
        self.wake_event = self.context.wait_for_external_event(WAKE_EVENT) if self.events else None

    def note(self, event: RunEvent, **extra: Any) -> None:
        """Remember a key moment of the run (core/timeline.py draws them) and log it as a run event."""
        record = self.record
        self.moments.append({"time": self.now(), "event": event.value, "status": record.status.value,
                             "remoteStatus": record.remote_status, "polls": record.polls})
        if len(self.moments) > MAX_MOMENTS:
            del self.moments[1]
        self.emit(event, **extra)

    def emit(self, event: RunEvent, **extra: Any) -> None:
        """One structured run event (core/run_events.py), written once: never while the episode replays.
        Never a secret: the run record holds none."""
        if self.context.is_replaying:
            return
        record = self.record
        fields = {"event": event.value, "runId": record.id, "jobType": record.job_type, "connection": record.connection,
                  "job": record.job, "remoteRunId": record.remote_run_id, "status": record.status.value,
                  "remoteStatus": record.remote_status, "errorCode": record.error.code if record.error else None,
                  "polls": record.polls, **extra}
        log_run_event(run_log, fields)

    def timer(self, seconds: float) -> Any:
        return self.context.create_timer(self.context.current_utc_datetime + timedelta(seconds=seconds))

    def wait_or_cancel(self, seconds: float) -> Generator[Any, Any, bool]:
        """Wait `seconds` unless the cancel event came or comes first; True when it did (timer cancelled)."""
        return (yield from self.race(seconds, self.cancel_event)) is self.cancel_event

    def race(self, seconds: float, *events: Any) -> Generator[Any, Any, Any]:
        """Wait `seconds` unless one of `events` came or comes first: that event (timer cancelled), or None."""
        timer = self.timer(seconds)
        winner = yield self.context.task_any([timer, *events])
        if winner is timer:
            return None
        timer.cancel()
        return winner

    def call(self, activity: str, crashed: ErrorCode = ErrorCode.SUBMIT_FAILED) -> Generator[Any, Any, Any]:
        """Call a run activity with this run's ActivityCall; its typed result (core/protocol.py).

        Activities answer errors as data (activities/guard.py); a task that failed all the same (a history
        written before the guard, or a host that could not run it) reads as an ActivityError `crashed`.
        """
        record = self.record
        call = ActivityCall(self.request, record.remote_run_id, record.created_at, record.remote_location,
                            record.remote_status)
        try:
            raw = yield self.context.call_activity(activity, call.to_dict())
        except Exception as exc:  # the activity itself crashed
            return ActivityError(RunError.of(crashed, _first_line(exc)))
        result = read_result(activity, raw)
        if result is None:
            return ActivityError(RunError.of(ErrorCode.INTERNAL_ERROR, f"{activity} answered an unreadable result"))
        return result

    def call_retrying(self, activity: str, deadline: str | None = None) -> Generator[Any, Any, Any]:
        """Call an activity; call again after a transient failure, and after a refusal (a stray 401/403/404)
        within the confirm budget, on timers that core.poll_policy.retry_wait caps by the platform's
        Retry-After and by `deadline` (ISO time; a submit's is the start deadline).

        A cancel raised meanwhile stays on the cancel waiter and is acted on after the call: a submit that
        failed transiently may still have made the remote job, which the next attempt finds and the loop then
        cancels, so nothing is left running.
        """
        result: Any = None
        refused_since: datetime | None = None
        for attempt in range(self.policy.retry_attempts):
            result = yield from self.call(activity)
            if not isinstance(result, ActivityError) or not (result.transient or result.refused):
                return result
            now = self.context.current_utc_datetime
            refused_since = (refused_since or now) if result.refused else None
            wait = retry_wait(self.policy, attempt, result.retry_after, now, refused_since=refused_since,
                              deadline=None if deadline is None else datetime.fromisoformat(deadline))
            if wait is None:
                return result
            yield self.timer(wait)
        return result

    def end(self, status: RunStatus, code: ErrorCode | str | None, message: str | None) -> dict[str, Any]:
        """The run is over: publish the final record and return it (the orchestration's output)."""
        error = None if code is None else RunError.of(code, message or "")
        self.record = self.record.end(status, error, self.now())
        self.emit(RunEvent.ENDED)
        return self.record.to_dict()

    def continue_as_new(self, next_input: Callable[[dict[str, Any], list[dict[str, Any]]], RunInput]) -> dict[str, Any]:
        """Note the restart, then restart with `next_input(record, moments)` (the moments include this one);
        the record is this execution's output."""
        self.publish()
        self.note(RunEvent.CONTINUED_AS_NEW)
        carried = replace(next_input(self.record.to_dict(), self.moments),
                          notice=None if self.notice is None else dict(self.notice))
        self.context.continue_as_new(carried.to_dict())
        return self.record.to_dict()


def _first_line(exc: Exception) -> str:
    return str(exc).split("\n")[0].strip() or type(exc).__name__
