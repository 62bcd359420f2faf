"""The submit → poll → outputs loop every job type runs (with `yield from`), cancel and timeouts included.

Deterministic: it reads only the context (input, current_utc_datetime, new_uuid, task results) and
carries out the decisions of `core.poll_policy.next_poll`. The run record (core.run_record) is the
custom status while the run lives and the output when it ends.

Cancel is never lost. Each execution makes ONE waiter for the cancel event and races every timer
against that same task. A fresh waiter per wait would not do: a waiter that lost an earlier race stays
registered with the SDK, and an event raised later (say during an activity) would complete that stale
waiter and vanish. With one waiter:
- before submit, a zero-length race registers it, so a cancel raised while the run was still pending is
  seen and no remote job is made;
- a cancel raised at any later time completes the waiter, and the next race returns it at once (the
  timer is then cancelled);
- before continue-as-new the waiter is checked, so a cancel consumed by this execution is acted on;
  events raised during the restart go to the new execution, whose first wait registers its own waiter
  (1.x drops only events the SDK buffered without a waiter, durable-functions.md §4 and issue #507).

A wake-up (WAKE_EVENT, raised by starters/azureml_events.py when the platform says the job changed) joins
the same race once the job exists, on runs whose connection has events wired (the submit activity says so:
an orchestrator reads no settings). It is raised many times, so its waiter is replaced each time it wins, and
only then: one waiter at a time, never a stale one. A wake-up raised while no waiter is registered (during a
poll, right after a win) is buffered by the SDK and completes the next waiter when that is raced. Before
continue-as-new a zero-length race registers the waiter, so a buffered wake-up is taken, not dropped; the
new execution then polls at once (`"woken"` in its input). A wake-up only makes the run poll now: the poll
decides, so a forged, duplicated or stale one costs one status read.

One trap: the 1.x SDK keeps an event that found no waiter (`deferred_tasks`, keyed by name) for the rest
of the execution and completes EVERY later waiter of that name with it, so a wake-up raised during a poll
would come back at each race, a poll each time. A waiter that completes with exactly the wake-up the
previous one took is that leftover: the loop then continues as new at once (polling first thing in the
new execution, in case it was a genuine repeat), and a fresh execution carries no leftover.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from core.durations import parse_duration
from core.parameters import Direction, Parameter, apply_outputs
from core.poll_policy import (
    WAKE_EVENT,
    Cancel,
    ContinueAsNew,
    Decision,
    Finish,
    PollPolicy,
    PollState,
    StatusObservation,
    TransientError,
    Wait,
    next_poll,
    request_cancel,
    woken,
)
from core.run_events import log_run_event
from core.run_record import new_run_record
from core.status import ErrorCode, RunStatus, is_terminal

CANCEL_EVENT = "cancel"
run_log = logging.getLogger("runbridge.run")
# Submit and output reads are idempotent or reconciled on every platform, so a transient failure is tried
# again: after a backoff that doubles from RETRY_FIRST to RETRY_CAP seconds, never before the platform's
# Retry-After, on a durable timer (an activity never sleeps), RETRY_ATTEMPTS times in all.
RETRY_ATTEMPTS = 10
RETRY_FIRST = 15.0
RETRY_CAP = 300.0


def run_job(context: df.DurableOrchestrationContext, policy: PollPolicy) -> Generator[Any, Any, dict[str, Any]]:
    """Run one remote job to its end; return the final run record."""
    data = context.get_input()
    if isinstance(data, str):  # inputs sent through the SDK client arrive as JSON text (§1.7)
        data = json.loads(data)
    request = data["request"]
    run = data.get("run") or new_run_record(request, _now(context))
    # the run's key moments, carried across continue-as-new (whose history is dropped) for its timeline
    moments: list[dict[str, Any]] = list(data.get("moments") or [])

    def note(event: str, **extra: Any) -> None:
        _keep_moment(context, run, moments, event)
        _emit(context, run, event, **extra)

    cancel_event = context.wait_for_external_event(CANCEL_EVENT)
    events = bool(data.get("events"))  # the connection's events are wired: race the wake-up too
    if data.get("poll") is None:
        context.set_custom_status(run)
        if (yield from _wait_or_cancel(context, cancel_event, 0)):
            return _end(context, run, RunStatus.CANCELLED, ErrorCode.CANCELLED, "Cancelled before it was submitted.")
        # the start deadline is fixed at the first submit: waiting for the platform counts as queueing
        waiting = data.get("waiting")  # an execution that goes on waiting for a busy platform
        state = PollState.from_dict(waiting["poll"]) if waiting else PollState.start(
            context.current_utc_datetime, parse_duration(request["startTimeout"]), parse_duration(request["timeout"]))
        submitted = yield from _submit(context, policy, state, cancel_event, request, run,
                                       float(waiting["wait"]) if waiting else None, note)
        if submitted is None:
            return _end(context, run, RunStatus.CANCELLED, ErrorCode.CANCELLED, "Cancelled before it was submitted.")
        if "continueWaiting" in submitted:
            note("continued_as_new")
            context.continue_as_new({"request": request, "run": run, "moments": moments,
                                     "waiting": {"poll": state.to_dict(), "wait": submitted["continueWaiting"]}})
            return run
        if not submitted["ok"]:
            error = submitted["error"]
            if submitted.get("busy"):
                return _end(context, run, RunStatus.FAILED, ErrorCode.TIMEOUT,
                            f"{error['message']} The run waited for it until its startTimeout "
                            f"({request['startTimeout']}); nothing was submitted.")
            code = ErrorCode.SUBMIT_FAILED.value if submitted.get("transient") else error["code"]
            return _end(context, run, RunStatus.FAILED, code, error["message"])
        events = bool(submitted.get("events"))
        run.update(remoteRunId=submitted["remoteRunId"], monitorUrl=submitted["monitorUrl"],
                   remoteStatus=submitted.get("remoteStatus"), outputs=dict(submitted.get("outputs") or {}))
        note("submitted")
        decision: Decision | None = None  # poll at once: a job that already ended never waits
    else:
        state = PollState.from_dict(data["poll"])
        # a wake-up taken just before continue-as-new: poll at once
        decision = None if data.get("woken") else Wait(float(data.get("wait") or policy.first_interval), state)
    cancel_sent = bool(data.get("cancelSent"))
    wake_event = context.wait_for_external_event(WAKE_EVENT) if events else None
    woke, last_wake = False, None  # whether a wake-up won a race in this execution, and what it carried
    while True:
        if isinstance(decision, Wait):
            state = decision.state
            if state.cancel_reason is None:
                winner = yield from _race(context, decision.seconds, cancel_event, *filter(None, [wake_event]))
                if winner is cancel_event:
                    decision = request_cancel(policy, state, context.current_utc_datetime)
                    note("cancel_requested")
                    continue
                if wake_event is not None and winner is wake_event:
                    stale = woke and wake_event.result == last_wake
                    woke, last_wake = True, wake_event.result
                    wake_event = context.wait_for_external_event(WAKE_EVENT)
                    state = woken(state)
                    if stale:  # the SDK's leftover copy (see the top): a fresh execution has none
                        decision = ContinueAsNew(0, state)
                        continue
            else:
                yield _timer(context, decision.seconds)
        elif isinstance(decision, Cancel):
            state = decision.state
            if not cancel_sent:
                result = yield context.call_activity("cancel_run", _payload(request, run))
                # A transient failure is retried at the next poll; the cancel budget bounds it all.
                cancel_sent = bool(result["ok"]) or not result.get("transient")
            yield _timer(context, decision.seconds)
        elif isinstance(decision, ContinueAsNew):
            state = decision.state
            # register the wake-up waiter, so one buffered during the last poll is taken, not dropped
            wake = wake_event is not None and (yield from _race(context, 0, wake_event)) is wake_event
            if state.cancel_reason is None and cancel_event.is_completed:
                decision = request_cancel(policy, state, context.current_utc_datetime)
                note("cancel_requested")
                continue
            context.set_custom_status(run)
            note("continued_as_new")
            context.continue_as_new({"request": request, "run": run,
                                     "poll": (woken(state) if wake else state).to_dict(), "wait": decision.seconds,
                                     "woken": wake, "events": events, "cancelSent": cancel_sent,
                                     "moments": moments})
            return run
        elif isinstance(decision, Finish):
            return (yield from _finish(context, request, run, decision))
        seen = yield context.call_activity("poll_run", _payload(request, run))
        decision = next_poll(policy, state, _observation(seen), context.current_utc_datetime, context.new_uuid())
        before = (run["status"], run["remoteStatus"])
        _record_poll(run, decision.state, seen)
        context.set_custom_status(run)
        if (run["status"], run["remoteStatus"]) != before:
            note("status_changed")
        if isinstance(decision, Cancel):
            note("cancel_requested", reason=decision.reason.value)
        if isinstance(decision, Wait) and decision.state.cancel_reason is not None and not cancel_sent:
            # the cancel call failed transiently: send it again; next_poll's cancel budget bounds this
            decision = Cancel(decision.state.cancel_reason, decision.seconds, decision.state)


def _finish(context: df.DurableOrchestrationContext, request: dict[str, Any], run: dict[str, Any],
            decision: Finish) -> Generator[Any, Any, dict[str, Any]]:
    """Read outputs on Success, write every known output back to the parameters, publish the end."""
    if decision.status is RunStatus.SUCCESS:
        result = yield from _call_retrying(context, "read_outputs", _payload(request, run))
        if result["ok"]:
            run["outputs"] = {**run.get("outputs", {}), **result["outputs"]}
    params = [Parameter(p["name"], Direction.parse(p["direction"]), p.get("value"))
              for p in request.get("parameters") or []]
    run["parameters"] = [p.to_dict() for p in apply_outputs(params, run.get("outputs") or {})]
    if decision.status is RunStatus.SUCCESS:
        return _end(context, run, decision.status, None, None)
    error = run.get("error")
    reported = error.get("message") if isinstance(error, dict) else None
    if decision.error_code in _STOPPED and reported:
        # the run was stopped: say so, then what the platform said of it (Abacus: running steps go on)
        message = f"{_default_message(decision)} {reported}"
    else:
        message = reported if decision.status is RunStatus.FAILED else None
    return _end(context, run, decision.status, decision.error_code, message or _default_message(decision))


# Codes of runs that were stopped (on request, at a deadline, or on the platform) rather than failing.
_STOPPED = frozenset({ErrorCode.CANCELLED, ErrorCode.TIMEOUT, ErrorCode.UNKNOWN_STATUS_BUDGET_EXHAUSTED})


def _submit(context: df.DurableOrchestrationContext, policy: PollPolicy, state: PollState, cancel_event: Any,
            request: dict[str, Any], run: dict[str, Any], carried_wait: float | None,
            note: Callable[[str], None]) -> Generator[Any, Any, dict[str, Any] | None]:
    """The submit activity's result; None when a cancel came while the platform was busy.

    A "busy" answer (the platform must finish other work first, and the run asked to wait: an agent
    thread with another run on it) is asked again after the policy's intervals, growing from
    first_interval to max_interval, never before its Retry-After, each wait raced against the cancel
    event, until the start deadline. Each attempt reconciles first, so waiting never makes a second job.
    After polls_per_execution busy answers the result is `{"continueWaiting": next wait}`, so a long
    wait keeps the history short as polling does; `carried_wait` is that wait, in the next execution.
    """
    payload = {"request": request, "createdAt": run["createdAt"]}
    seconds = carried_wait  # None: submit at once
    for attempt in range(policy.polls_per_execution):
        if seconds is not None and (yield from _wait_or_cancel(context, cancel_event, seconds)):
            return None
        submitted = yield from _call_retrying(context, "submit_run", payload)
        if submitted.get("ok") or not submitted.get("busy"):
            return submitted
        wait = policy.first_interval if seconds is None else min(seconds * policy.growth, policy.max_interval)
        seconds = max(wait, float(submitted.get("retryAfter") or 0))
        if not state.starts_in_time(context.current_utc_datetime, seconds):
            return submitted
        if attempt == 0 and carried_wait is None:
            note("waiting")
    if cancel_event.is_completed:  # raised during the last attempt: continue-as-new would drop it
        return None
    return {"continueWaiting": seconds}


def _call_retrying(context: df.DurableOrchestrationContext, activity: str,
                   payload: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """Call an activity that reports `{"ok", "transient", "retryAfter", "error"}`; retry transient failures.

    A cancel raised meanwhile stays on the cancel waiter and is acted on after the call: a submit that
    failed transiently may still have made the remote job, which the next attempt finds and the loop then
    cancels, so nothing is left running.
    """
    result: dict[str, Any] = {}
    for attempt in range(RETRY_ATTEMPTS):
        try:
            result = yield context.call_activity(activity, payload)
        except Exception as exc:  # the activity itself crashed (a bug): not worth retrying
            return {"ok": False, "error": {"code": ErrorCode.SUBMIT_FAILED.value, "message": _first_line(exc)}}
        if result.get("ok") or not result.get("transient"):
            return result
        wait = max(min(RETRY_FIRST * 2**attempt, RETRY_CAP), float(result.get("retryAfter") or 0))
        yield _timer(context, wait)
    return result


def _default_message(decision: Finish) -> str:
    messages = {
        ErrorCode.TIMEOUT: "The run went past its timeout; the remote job was cancelled.",
        ErrorCode.CANCELLED: "The run was cancelled.",
        ErrorCode.TRANSIENT_BUDGET_EXHAUSTED: "The platform kept failing; polling gave up. The remote job may "
                                              "still be running.",
        ErrorCode.UNKNOWN_STATUS_BUDGET_EXHAUSTED: "The platform reported a status runbridge does not know for too "
                                                   "long; the remote job was cancelled.",
        ErrorCode.REMOTE_FAILED: "The remote job failed.",
    }
    code = decision.error_code
    return messages.get(code, f"The run ended {decision.status.value}.") if code else "The run ended."


def _end(context: df.DurableOrchestrationContext, run: dict[str, Any], status: RunStatus,
         code: ErrorCode | str | None, message: str | None) -> dict[str, Any]:
    run["status"] = status.value
    run["error"] = None if code is None else {"code": str(code), "message": message or ""}
    run["endedAt"] = run.get("endedAt") or _now(context)
    context.set_custom_status(run)
    _emit(context, run, "ended")
    return run


def _emit(context: df.DurableOrchestrationContext, run: dict[str, Any], event: str, **extra: Any) -> None:
    """One structured run event (core/run_events.py), written once: never while the episode replays.
    Never a secret: the run record holds none."""
    if context.is_replaying:
        return
    error = run.get("error") or {}
    fields = {"event": event, "runId": run.get("id"), "jobType": run.get("jobType"),
              "connection": run.get("connection"), "job": run.get("job"), "remoteRunId": run.get("remoteRunId"),
              "status": run.get("status"), "remoteStatus": run.get("remoteStatus"),
              "errorCode": error.get("code") if isinstance(error, dict) else None, "polls": run.get("polls"),
              **extra}
    log_run_event(run_log, fields)


MAX_MOMENTS = 60  # a run's carried moments: the first (its submit) and the latest ones


def _keep_moment(context: df.DurableOrchestrationContext, run: dict[str, Any], moments: list[dict[str, Any]],
                 event: str) -> None:
    """Remember a key moment of the run (core/timeline.py draws them): when, what, the statuses then."""
    moments.append({"time": _now(context), "event": event, "status": run.get("status"),
                    "remoteStatus": run.get("remoteStatus"), "polls": run.get("polls")})
    if len(moments) > MAX_MOMENTS:
        del moments[1]


def _record_poll(run: dict[str, Any], state: PollState, seen: dict[str, Any]) -> None:
    run["polls"] = state.polls
    if not is_terminal(state.status):  # a terminal status is published by _end, once outputs are in
        run["status"] = state.status.value
    if not seen.get("transient"):
        run["remoteStatus"] = seen.get("remoteStatus")
        if seen.get("error"):
            run["error"] = {"code": seen.get("errorCode") or ErrorCode.REMOTE_FAILED.value, "message": seen["error"]}
    run["startedAt"] = seen.get("startedAt") or run.get("startedAt") or state.started_at
    if seen.get("endedAt"):
        run["endedAt"] = seen["endedAt"]


def _observation(seen: dict[str, Any]) -> StatusObservation | TransientError:
    if seen.get("transient"):
        return TransientError(seen.get("retryAfter"))
    code = seen.get("errorCode")
    return StatusObservation(RunStatus(seen["status"]), seen.get("remoteStatus"), seen.get("retryAfter"),
                             ErrorCode(code) if code else None)


def _payload(request: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    return {"request": request, "remoteRunId": run["remoteRunId"]}


def _timer(context: df.DurableOrchestrationContext, seconds: float) -> Any:
    return context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))


def _wait_or_cancel(context: df.DurableOrchestrationContext, cancel_event: Any,
                    seconds: float) -> Generator[Any, Any, bool]:
    """Wait `seconds` unless the cancel event came or comes first; True when it did (timer cancelled)."""
    return (yield from _race(context, seconds, cancel_event)) is cancel_event


def _race(context: df.DurableOrchestrationContext, seconds: float, *events: Any) -> Generator[Any, Any, Any]:
    """Wait `seconds` unless one of `events` came or comes first: that event (timer cancelled), or None."""
    timer = _timer(context, seconds)
    winner = yield context.task_any([timer, *events])
    if winner is timer:
        return None
    timer.cancel()
    return winner


def _now(context: df.DurableOrchestrationContext) -> str:
    return context.current_utc_datetime.isoformat()


def _first_line(exc: Exception) -> str:
    return str(exc).split("\n")[0].strip() or type(exc).__name__
