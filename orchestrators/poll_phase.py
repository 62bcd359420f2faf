"""The poll phase of a run: carry out the decisions of core.poll_policy.next_poll until the run ends.

Wait (a durable timer raced against the cancel event and, with events wired, the wake-up), poll, cancel the
remote job and wait for it to confirm, continue as new every `polls_per_execution` polls, and at the end read
the outputs and publish.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from core.parameters import Direction, Parameter, apply_outputs, outputs_missing, outputs_unavailable_message
from core.poll_policy import (
    Cancel,
    ConnectionMissing,
    ContinueAsNew,
    Decision,
    Finish,
    PollState,
    StatusObservation,
    TransientError,
    Unconfirmed,
    Wait,
    next_poll,
    request_cancel,
    woken,
)
from core.protocol import CANCEL_RUN, POLL_RUN, READ_OUTPUTS, ActivityError, OutputsRead, Polled, RunEvent
from core.run_record import RunRecord
from core.status import ErrorCode, RunStatus

from .run_context import RunContext

# Codes of runs that were stopped (on request, at a deadline, or on the platform) rather than failing.
_STOPPED = frozenset({ErrorCode.CANCELLED, ErrorCode.TIMEOUT, ErrorCode.UNKNOWN_STATUS_BUDGET_EXHAUSTED})
_MESSAGES = {
    ErrorCode.TIMEOUT: "The run went past its timeout; the remote job was cancelled.",
    ErrorCode.CANCELLED: "The run was cancelled.",
    ErrorCode.TRANSIENT_BUDGET_EXHAUSTED: "The platform kept failing; polling gave up. The remote job may "
                                          "still be running.",
    ErrorCode.UNKNOWN_STATUS_BUDGET_EXHAUSTED: "The platform reported a status runbridge does not know for too "
                                               "long; the remote job was cancelled.",
    ErrorCode.REMOTE_FAILED: "The remote job failed.",
}


def poll_phase(run: RunContext, state: PollState, decision: Decision | None,
               cancel_sent: bool) -> Generator[Any, Any, dict[str, Any]]:
    """Poll the submitted job to its end (`decision` None: poll at once, a job that already ended never
    waits); the final record, or this execution's record when it continues as new."""
    polling = _Polling(run, state, cancel_sent)
    run.listen_for_wake()
    while True:
        step = yield from polling.carry_out(decision)
        if isinstance(step, dict):
            return step
        decision = step if step is not None else (yield from polling.poll())


class _Polling:
    """The loop's memory within one execution: the poll state and whether the cancel call went out."""

    def __init__(self, run: RunContext, state: PollState, cancel_sent: bool) -> None:
        self.run, self.state, self.cancel_sent = run, state, cancel_sent
        self.woke, self.last_wake = False, None  # a wake-up won a race in this execution; what it carried

    def carry_out(self, decision: Decision | None) -> Generator[Any, Any, Decision | dict[str, Any] | None]:
        """Do what `decision` says; a new decision to carry out instead, the run's record when this execution
        is over, or None to poll next."""
        if isinstance(decision, Wait):
            return (yield from self._wait(decision))
        if isinstance(decision, Cancel):
            yield from self._cancel(decision)
        elif isinstance(decision, ContinueAsNew):
            return (yield from self._continue(decision))
        elif isinstance(decision, Finish):
            return (yield from finish(self.run, decision))
        return None

    def _wait(self, decision: Wait) -> Generator[Any, Any, Decision | None]:
        self.state = decision.state
        if self.state.cancel_reason is not None:  # cancelling already: only wait for the job to confirm
            yield self.run.timer(decision.seconds)
            return None
        run = self.run
        winner = yield from run.race(decision.seconds, run.cancel_event, *filter(None, [run.wake_event]))
        if winner is run.cancel_event:
            return self._cancel_requested()
        if run.wake_event is not None and winner is run.wake_event:
            return self._woken(run.wake_event.result)
        return None

    def _woken(self, carried: Any) -> Decision | None:
        """A wake-up won: poll at once (None), or continue as new when it is the SDK's leftover (poll_loop.py)."""
        stale = self.woke and carried == self.last_wake
        self.woke, self.last_wake = True, carried
        self.run.listen_for_wake()
        self.state = woken(self.state)
        return ContinueAsNew(0, self.state) if stale else None

    def _cancel_requested(self) -> Decision:
        decision = request_cancel(self.run.policy, self.state, self.run.context.current_utc_datetime)
        self.run.note(RunEvent.CANCEL_REQUESTED)
        return decision

    def _cancel(self, decision: Cancel) -> Generator[Any, Any, None]:
        self.state = decision.state
        if not self.cancel_sent:
            result = yield from self.run.call(CANCEL_RUN, ErrorCode.INTERNAL_ERROR)
            # A transient failure, or a refusal (maybe stray), is retried at the next poll; the cancel budget
            # bounds it all, so one stray answer never leaves the job running.
            self.cancel_sent = not isinstance(result, ActivityError) or not (result.transient or result.refused)
        yield self.run.timer(decision.seconds)

    def _continue(self, decision: ContinueAsNew) -> Generator[Any, Any, Decision | dict[str, Any]]:
        self.state = decision.state
        run = self.run
        # register the wake-up waiter, so one buffered during the last poll is taken, not dropped
        wake = run.wake_event is not None and (yield from run.race(0, run.wake_event)) is run.wake_event
        if self.state.cancel_reason is None and run.cancel_event.is_completed:
            return self._cancel_requested()  # a cancel this execution consumed: continue-as-new would drop it
        state, cancel_sent = (woken(self.state) if wake else self.state).to_dict(), self.cancel_sent
        return run.continue_as_new(lambda record, moments: run.input.continued_polling(
            record, moments, state, decision.seconds, cancel_sent, run.events, wake))

    def poll(self) -> Generator[Any, Any, Decision]:
        """Poll once, publish what changed, and decide what follows."""
        run = self.run
        seen = yield from run.call(POLL_RUN, ErrorCode.INTERNAL_ERROR)
        decision = next_poll(run.policy, self.state, observation(seen), run.context.current_utc_datetime,
                             run.context.new_uuid())
        before = (run.record.status, run.record.remote_status)
        run.record = _trouble(run.record, seen).polled(decision.state, seen if isinstance(seen, Polled) else None)
        if isinstance(decision, Finish) and isinstance(seen, ActivityError) and seen.refused:
            run.record = run.record.with_error(seen.error)  # the refusal held for the confirm budget: the end
        if (run.record.status, run.record.remote_status) != before:
            run.note(RunEvent.STATUS_CHANGED)
            yield from run.announce()
        if isinstance(decision, Cancel):
            run.note(RunEvent.CANCEL_REQUESTED, reason=decision.reason.value)
        if isinstance(decision, Wait) and decision.state.cancel_reason is not None and not self.cancel_sent:
            # the cancel call failed transiently: send it again; next_poll's cancel budget bounds this
            decision = Cancel(decision.state.cancel_reason, decision.seconds, decision.state)
        return decision


def _trouble(record: RunRecord, seen: Polled | ActivityError) -> RunRecord:
    """Show a missing connection on the live record while it lasts (its code, what to fix)."""
    if isinstance(seen, ActivityError) and seen.code == ErrorCode.CONNECTION_NOT_CONFIGURED.value:
        return record.with_error(seen.error)
    if record.error is not None and record.error.code == ErrorCode.CONNECTION_NOT_CONFIGURED.value:
        return record.with_error(None)  # the setting is back
    return record


def observation(seen: Polled | ActivityError) -> StatusObservation | TransientError | Unconfirmed | ConnectionMissing:
    """What a poll result tells next_poll. A failed poll counts as transient (its budget bounds it), but a
    missing connection has a budget of its own, and a refusal (401/403/404) is believed only once it holds."""
    if isinstance(seen, ActivityError) and seen.code == ErrorCode.CONNECTION_NOT_CONFIGURED.value:
        return ConnectionMissing()
    if isinstance(seen, ActivityError) and seen.refused:
        known = seen.code in {code.value for code in ErrorCode}
        return Unconfirmed(ErrorCode(seen.code) if known else ErrorCode.PLATFORM_REJECTED, seen.retry_after)
    if isinstance(seen, ActivityError):
        return TransientError(seen.retry_after)
    return StatusObservation(seen.status, seen.remote_status, seen.retry_after, seen.error_code)


def finish(run: RunContext, decision: Finish) -> Generator[Any, Any, dict[str, Any]]:
    """Read outputs on Success, write every known output back to the parameters, publish the end.

    Success only when every promised Output parameter was read: a read that keeps failing, or outputs
    without a promised one, end the run Failed with OutputsUnavailable, saying the remote job succeeded.
    """
    outputs: dict[str, Any] = {}
    result: Any = None
    if decision.status is RunStatus.SUCCESS:
        result = yield from run.call_retrying(READ_OUTPUTS)
        outputs = dict(result.outputs) if isinstance(result, OutputsRead) else {}
    params = [Parameter(p["name"], Direction.parse(p["direction"]), p.get("value"))
              for p in run.request.get("parameters") or []]
    written = apply_outputs(params, {**run.record.outputs, **outputs})
    run.record = run.record.with_outputs(outputs, [p.to_dict() for p in written])
    if decision.status is RunStatus.SUCCESS:
        missing = outputs_missing(params, {**run.record.outputs, **outputs})
        if isinstance(result, OutputsRead) and not missing:
            return run.end(decision.status, None, None)
        where = {"remoteRunId": run.record.remote_run_id, "monitorUrl": run.record.monitor_url}
        error = result.error.to_dict() if isinstance(result, ActivityError) else None
        return run.end(RunStatus.FAILED, ErrorCode.OUTPUTS_UNAVAILABLE,
                       outputs_unavailable_message(where, missing, error))
    return run.end(decision.status, decision.error_code, _end_message(run.record, decision))


def _end_message(record: RunRecord, decision: Finish) -> str:
    code = decision.error_code
    if code is ErrorCode.CONNECTION_NOT_CONFIGURED:
        return _unwatched(record)
    default = (_MESSAGES.get(code, f"The run ended {decision.status.value}.") if code else "The run ended.")
    reported = record.error.message if record.error else None
    if code in _STOPPED and reported:
        # the run was stopped: say so, then what the platform said of it (Abacus: running steps go on)
        return f"{default} {reported}"
    return (reported if decision.status is RunStatus.FAILED else None) or default


def _unwatched(record: RunRecord) -> str:
    """Why a run whose connection stayed missing gave up, and where its remote job still is."""
    where = record.monitor_url or ", ".join(f"{k}={v}" for k, v in sorted(record.remote_location.items()))
    return (f"The connection '{record.connection}' is no longer configured on this app, so runbridge stopped "
            f"watching remote job {record.remote_run_id} and could not cancel it. It may still be running: "
            f"cancel it on the platform{f' ({where})' if where else ''}, or restore the connection's settings "
            "and start a new run.")
