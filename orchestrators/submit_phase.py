"""The submit phase of a run: make the remote job once, waiting for a busy platform when the run asked to."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from core.durations import parse_duration
from core.poll_policy import PollState
from core.protocol import SUBMIT_RUN, ActivityError, RunEvent, Submitted
from core.status import ErrorCode, RunStatus
from platforms.remote_names import remote_name

from .run_context import RunContext

NOT_SUBMITTED = "Cancelled before it was submitted."


@dataclass(frozen=True)
class GoOnWaiting:
    """The platform stayed busy for a whole execution's worth of attempts: continue as new, then wait this."""

    seconds: float


def submit_phase(run: RunContext) -> Generator[Any, Any, PollState | dict[str, Any]]:
    """Submit the run's remote job; the poll state to go on with, or the run's final record (or the
    record of a continue-as-new) when it is over before polling."""
    if (yield from run.wait_or_cancel(0)):  # registers the cancel waiter: a cancel raised while pending counts
        return run.end(RunStatus.CANCELLED, ErrorCode.CANCELLED, NOT_SUBMITTED)
    waiting = run.input.waiting
    # the start deadline is fixed at the first submit: waiting for the platform counts as queueing
    state = PollState.from_dict(waiting["poll"]) if waiting else PollState.start(
        run.context.current_utc_datetime, parse_duration(run.request["startTimeout"]),
        parse_duration(run.request["timeout"]))
    _name_the_remote_job(run)
    answer = yield from _submit_when_free(run, state, float(waiting["wait"]) if waiting else None)
    if answer is None:
        return run.end(RunStatus.CANCELLED, ErrorCode.CANCELLED, NOT_SUBMITTED)
    if isinstance(answer, GoOnWaiting):
        seconds = answer.seconds
        return run.continue_as_new(lambda record, moments: run.input.continued_waiting(
            record, moments, state.to_dict(), seconds))
    if isinstance(answer, ActivityError):
        return _not_submitted(run, answer)
    run.record = run.record.submitted(answer)
    run.events = answer.events
    run.note(RunEvent.SUBMITTED)
    return state


def _name_the_remote_job(run: RunContext) -> None:
    """Record what will find the remote job before the first submit call: a submit whose answer is lost and
    whose retries all fail may still have made it (the orphan sweeper looks for it by this)."""
    record = run.record
    name = remote_name(str(run.request.get("jobType")), str(run.request.get("job")), str(record.id))
    if name and not record.remote_name:
        run.record = record.submitting(name)


def _not_submitted(run: RunContext, error: ActivityError) -> dict[str, Any]:
    message = error.error.message
    if error.busy:
        return run.end(RunStatus.FAILED, ErrorCode.TIMEOUT,
                       f"{message} The run waited for it until its startTimeout "
                       f"({run.request['startTimeout']}); nothing was submitted.")
    code = ErrorCode.SUBMIT_FAILED.value if error.transient else error.code
    return run.end(RunStatus.FAILED, code, message)


SubmitAnswer = Submitted | ActivityError | GoOnWaiting | None


def _submit_when_free(run: RunContext, state: PollState,
                      carried_wait: float | None) -> Generator[Any, Any, SubmitAnswer]:
    """The submit activity's result; None when a cancel came while the platform was busy.

    A "busy" answer (the platform must finish other work first, and the run asked to wait: an agent
    thread with another run on it) is asked again after the policy's intervals, growing from
    first_interval to max_interval, never before its Retry-After, each wait raced against the cancel
    event, until the start deadline. Each attempt reconciles first, so waiting never makes a second job.
    After polls_per_execution busy answers it is GoOnWaiting, so a long wait keeps the history short as
    polling does; `carried_wait` is that wait, in the next execution.
    """
    policy = run.policy
    seconds = carried_wait  # None: submit at once
    for attempt in range(policy.polls_per_execution):
        if seconds is not None and (yield from run.wait_or_cancel(seconds)):
            return None
        submitted = yield from run.call_retrying(SUBMIT_RUN, state.start_deadline)
        if not isinstance(submitted, ActivityError) or not submitted.busy:
            return submitted
        wait = policy.first_interval if seconds is None else min(seconds * policy.growth, policy.max_interval)
        seconds = max(wait, submitted.retry_after or 0.0)
        if not state.starts_in_time(run.context.current_utc_datetime, seconds):
            return submitted
        if attempt == 0 and carried_wait is None:
            run.note(RunEvent.WAITING)
    if run.cancel_event.is_completed:  # raised during the last attempt: continue-as-new would drop it
        return None
    return GoOnWaiting(seconds or policy.first_interval)
