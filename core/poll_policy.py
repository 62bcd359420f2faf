"""How a run is polled, as data and one pure function.

The orchestrator keeps a `PollState`, polls, and hands each result to `next_poll`, which answers with a
`Decision`: wait N seconds, finish with a status, cancel the remote job, or continue-as-new. The
orchestrator only carries decisions out. Nothing here reads a clock, a setting or `random`: `now` comes
from `context.current_utc_datetime`, jitter from a seed the orchestrator takes from `context.new_uuid()`,
so a replay takes the same decisions.

The loop, as the orchestrator runs it:
1. after submit, `state = PollState.start(...)`, poll at once (a job that already ended never waits),
   then `next_poll(...)`;
2. `Wait(s)`: a durable timer for s seconds raced against the cancel event, then poll again;
3. `Cancel(reason, s)`: call the platform's cancel, wait s seconds, poll; polling goes on until the job
   confirms a terminal state or `cancel_budget` ends;
4. `ContinueAsNew(s)`: `continue_as_new` with the state; the new execution starts with `Wait(s)`;
5. `Finish(status, error_code)`: read outputs, return the run status;
6. a cancel event: `request_cancel(...)`, then carry out its decision;
7. a wake-up event (core.protocol.WAKE_EVENT: the platform said the job changed, Azure ML via Event Grid):
   `woken(state)`, then poll at once. The event is only a hint; the poll decides. Once a run has been woken,
   its platform's events are known to arrive, so between polls the wait is the policy's `safety_net` (see
   `_base_wait`): polling is then what catches a lost event, not what notices the end.

A poll that failed is a `TransientError` (counted against transient_budget), or `Unconfirmed`: a 401/403/404
about the run's own job, which a platform mid-deployment sends once; it ends the run only when such answers
hold for confirm_budget, and any status seen meanwhile forgets it. `retry_wait` is the same kind of rule for
a submit or an outputs read that failed.

Deadlines are absolute ISO times, fixed once and carried in the state through continue-as-new: the start
deadline at submit (startTimeout), the run deadline at the first Running (timeout). A run that never ran
stays under its start deadline whatever it reports (Unknown included). A first Running seen only after the
start deadline (polls held off by Retry-After) counts from the start deadline, so every run is over by
submit + startTimeout + timeout, plus the cancel budget and Retry-After waits.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta, timezone

from core.status import ErrorCode, RunStatus, is_terminal

UTC = timezone.utc
MIN_WAIT = 1.0  # seconds; no timer shorter than this
MAX_SAFETY_NET = 3600.0  # seconds; a run with events is still polled at least hourly


@dataclass(frozen=True)
class PollPolicy:
    """How often to poll and how much trouble to tolerate; all times in seconds.

    The defaults poll at 5 s, then 7.5, 11.25... up to one minute (a six-hour job costs about 400
    polls, each one ARM read on Azure ML, in 8 continue-as-new executions), tolerate 20 consecutive
    transient errors (about 14 minutes of outage), half an hour of an unmapped status, and a quarter
    of an hour for a cancel to be confirmed.
    """

    first_interval: float = 5.0  # the wait after a (changed) status
    growth: float = 1.5  # each unchanged poll multiplies the wait by this
    max_interval: float = 60.0  # the computed wait never exceeds this (Retry-After may)
    jitter: float = 0.2  # each wait is shortened by a seeded fraction in [0, jitter)
    reset_on_change: bool = True  # a new remote status starts again from first_interval
    transient_budget: int = 20  # consecutive transient poll errors tolerated; one more ends the run
    unknown_budget: float = 1800.0  # time allowed in Unknown before the job is cancelled
    cancel_budget: float = 900.0  # time allowed after a cancel for the job to confirm a terminal state
    polls_per_execution: int = 50  # continue-as-new after this many polls, so history stays short
    retry_after_cap: float = 600.0  # a Retry-After hint longer than this is cut to this (ARM's max)
    # When set, the cap rises with the job's age: this fraction of the time since it started running
    # (never below max_interval, never above max_elapsed_interval), so a long job is polled about as
    # often per doubling of its age as a short one, and the lag to notice its end stays this fraction.
    elapsed_fraction: float | None = None
    max_elapsed_interval: float = 3600.0  # the ceiling of the age-scaled cap
    # A 401/403/404 about a job runbridge itself made is a stray answer (a deployment, a lagging replica)
    # until it holds this long: the job is re-checked meanwhile, and only then does the answer end the run.
    confirm_budget: float = 300.0
    # A submit or an outputs read that fails is tried again after a wait that doubles from retry_first to
    # retry_cap (never under Retry-After, never past the run's deadline), retry_attempts times in all.
    retry_attempts: int = 10
    retry_first: float = 15.0
    retry_cap: float = 300.0
    # Time a run may go on without its connection (settings renamed in a redeploy, a slot swap) before it
    # ends Failed with ConnectionNotConfigured; meanwhile it shows Unknown, and a fixed setting brings it back.
    connection_budget: float = 1800.0
    # Once a run was woken by a platform event, the wait between polls is this (events say when the job
    # changes; polling is the safety net for a lost one). None: events never relax polling.
    safety_net: float | None = None

    def __post_init__(self) -> None:
        if not MIN_WAIT <= self.first_interval <= self.max_interval:
            raise ValueError(f"need {MIN_WAIT} <= first_interval <= max_interval")
        if not (self.growth >= 1 and 0 <= self.jitter < 1):
            raise ValueError("need growth >= 1 and 0 <= jitter < 1")
        if min(self.transient_budget, self.unknown_budget, self.cancel_budget, self.retry_after_cap,
               self.confirm_budget, self.connection_budget) < 0:
            raise ValueError("budgets and caps must not be negative")
        if self.polls_per_execution < 1 or self.retry_attempts < 1:
            raise ValueError("polls_per_execution and retry_attempts must be at least 1")
        if not MIN_WAIT <= self.retry_first <= self.retry_cap:
            raise ValueError(f"need {MIN_WAIT} <= retry_first <= retry_cap")
        if self.elapsed_fraction is not None and not 0 < self.elapsed_fraction < 1:
            raise ValueError("need 0 < elapsed_fraction < 1")
        if self.elapsed_fraction is not None and self.max_elapsed_interval < self.max_interval:
            raise ValueError("need max_elapsed_interval >= max_interval")
        if self.safety_net is not None and not self.max_interval <= self.safety_net <= MAX_SAFETY_NET:
            raise ValueError(f"need max_interval <= safety_net <= {MAX_SAFETY_NET:g} s")

    @property
    def ceiling(self) -> float:
        """The longest computed wait this policy can ever give (Retry-After aside)."""
        return self.max_interval if self.elapsed_fraction is None else self.max_elapsed_interval

    def cap(self, running_for: float = 0.0) -> float:
        """The cap on the wait once the job has been running `running_for` seconds."""
        if self.elapsed_fraction is None:
            return self.max_interval
        return max(self.max_interval, min(self.max_elapsed_interval, self.elapsed_fraction * running_for))

    def grown(self, attempt: int) -> float:
        """first_interval grown `attempt` times, uncapped (inf past float range)."""
        try:
            return self.first_interval * self.growth**attempt
        except OverflowError:
            return math.inf

    def interval(self, attempt: int, running_for: float = 0.0) -> float:
        """The wait before jitter after `attempt` unchanged polls: first_interval grown, capped."""
        return min(self.cap(running_for), self.grown(attempt))


@dataclass(frozen=True)
class PollState:
    """Everything the loop remembers between polls; JSON-safe, it rides through continue-as-new."""

    start_deadline: str  # ISO time: past it, a run that never reached Running is cancelled
    run_timeout: float  # seconds from the first Running to the run deadline
    status: RunStatus = RunStatus.STARTING
    remote_status: str | None = None  # the platform's own word, as last seen
    attempt: int = 0  # unchanged polls since the last change, drives the interval
    transient_errors: int = 0  # consecutive transient poll errors
    unknown_since: str | None = None  # ISO time the current run of Unknown began
    polls: int = 0  # polls so far, all executions
    run_deadline: str | None = None  # ISO time, fixed at the first Running (see _run_deadline)
    cancel_reason: ErrorCode | None = None  # set once a cancel was decided
    cancel_deadline: str | None = None  # ISO time the cancel must be confirmed by
    unreachable_since: str | None = None  # ISO time the run's connection went missing (None: it is there)
    unconfirmed_since: str | None = None  # ISO time of the first of the 401/403/404 answers seen since a status
    wakeups: int = 0  # wake-up events received, all executions: > 0 means the platform's events arrive

    @classmethod
    def start(cls, submitted_at: datetime, start_timeout: timedelta, timeout: timedelta) -> PollState:
        """The state right after submit: the start deadline is fixed now, the run deadline later."""
        return cls(start_deadline=_iso(_utc(submitted_at) + start_timeout), run_timeout=timeout.total_seconds())

    def starts_in_time(self, now: datetime, seconds: float) -> bool:
        """Whether a wait of `seconds` from `now` still ends before the start deadline (a submit that waits
        for the platform counts as queueing)."""
        return _utc(now) + timedelta(seconds=seconds) <= _parse(self.start_deadline)

    @property
    def started_at(self) -> str | None:
        """ISO time of the first Running seen (or the start deadline, if that came first), if any."""
        if self.run_deadline is None:
            return None
        return _iso(_parse(self.run_deadline) - timedelta(seconds=self.run_timeout))

    def to_dict(self) -> dict[str, object]:
        """Plain JSON data (enums as their values)."""
        data = asdict(self)
        data["status"] = self.status.value
        data["cancel_reason"] = None if self.cancel_reason is None else self.cancel_reason.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PollState:
        """Read `to_dict` output back; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["status"] = RunStatus(values.get("status", RunStatus.STARTING))
        reason = values.get("cancel_reason")
        values["cancel_reason"] = None if reason is None else ErrorCode(reason)
        return cls(**values)


@dataclass(frozen=True)
class StatusObservation:
    """A poll that got an answer.

    `error_code` is the platform client's own verdict: on a terminal status it names the failure
    (e.g. NotFound); on an active status it asks for the job to be cancelled with that code
    (an agent run in requires_action → RequiresAction).
    """

    status: RunStatus
    remote_status: str | None = None
    retry_after: float | None = None
    error_code: ErrorCode | None = None


@dataclass(frozen=True)
class TransientError:
    """A poll that failed in a way worth retrying (429, 5xx, timeout, connection error)."""

    retry_after: float | None = None


@dataclass(frozen=True)
class Unconfirmed:
    """A poll answered that the job runbridge made is gone or out of reach (404, 401/403): believed only
    once such answers hold for the policy's confirm_budget, then the run ends Failed with `error_code`."""

    error_code: ErrorCode
    retry_after: float | None = None


@dataclass(frozen=True)
class ConnectionMissing:
    """A poll that could not be made: the run's connection is not configured on this app (any more)."""


Observation = StatusObservation | TransientError | Unconfirmed | ConnectionMissing


@dataclass(frozen=True)
class Wait:
    """Wait `seconds` (racing the cancel event), then poll."""

    seconds: float
    state: PollState


@dataclass(frozen=True)
class Finish:
    """The run is over with `status`; `error_code` says why when it is not Success."""

    status: RunStatus
    error_code: ErrorCode | None
    state: PollState


@dataclass(frozen=True)
class Cancel:
    """Cancel the remote job for `reason`, then wait `seconds` and poll until it confirms."""

    reason: ErrorCode
    seconds: float
    state: PollState


@dataclass(frozen=True)
class ContinueAsNew:
    """Restart the orchestration with `state`; the new execution waits `seconds`, then polls."""

    seconds: float
    state: PollState


Decision = Wait | Finish | Cancel | ContinueAsNew


def next_poll(
    policy: PollPolicy, state: PollState, observation: Observation, now: datetime, jitter_seed: str
) -> Decision:
    """Decide what follows a poll, from the policy, the state, what the poll saw and the time."""
    now = _utc(now)
    state = replace(state, polls=state.polls + 1)
    if isinstance(observation, ConnectionMissing):
        return _unreachable(policy, state, now, jitter_seed)
    state = replace(state, unreachable_since=None)
    if isinstance(observation, TransientError):
        state = replace(state, transient_errors=state.transient_errors + 1)
        if state.transient_errors > policy.transient_budget:
            return Finish(RunStatus.FAILED, ErrorCode.TRANSIENT_BUDGET_EXHAUSTED, state)
    elif isinstance(observation, Unconfirmed):
        state = replace(state, unconfirmed_since=state.unconfirmed_since or _iso(now))
        if now >= _confirm_deadline(policy, state):
            return Finish(RunStatus.FAILED, observation.error_code, state)
    else:
        status = observation.status
        changed = (status, observation.remote_status) != (state.status, state.remote_status)
        state = replace(
            state,
            status=status,
            remote_status=observation.remote_status,
            transient_errors=0,
            unconfirmed_since=None,
            attempt=0 if changed and policy.reset_on_change else state.attempt,
            unknown_since=(state.unknown_since or _iso(now)) if status is RunStatus.UNKNOWN else None,
            run_deadline=state.run_deadline or (_run_deadline(state, now) if status is RunStatus.RUNNING else None),
        )
        if is_terminal(status):
            return _finish(state, observation)
    retry_after = observation.retry_after
    if state.cancel_reason is not None:
        if now >= _parse(state.cancel_deadline):
            return Finish(*_outcome(state.cancel_reason), state)
        return _wait(policy, state, now, jitter_seed, retry_after)
    if now >= _parse(state.run_deadline or state.start_deadline):
        return _cancel(policy, state, now, ErrorCode.TIMEOUT, retry_after)
    if isinstance(observation, StatusObservation) and observation.error_code is not None:
        return _cancel(policy, state, now, observation.error_code, retry_after)
    if state.unknown_since is not None and now >= _unknown_deadline(policy, state):
        return _cancel(policy, state, now, ErrorCode.UNKNOWN_STATUS_BUDGET_EXHAUSTED, retry_after)
    return _wait(policy, state, now, jitter_seed, retry_after)


def _unreachable(policy: PollPolicy, state: PollState, now: datetime, seed: str) -> Decision:
    """No connection to poll (or cancel) with: Unknown, waiting for the setting to come back, under the
    connection budget; deadlines wait too, since nothing can be cancelled without the connection."""
    since = state.unreachable_since or _iso(now)
    state = replace(state, status=RunStatus.UNKNOWN, unreachable_since=since)
    if now >= _parse(since) + timedelta(seconds=policy.connection_budget):
        return Finish(RunStatus.FAILED, ErrorCode.CONNECTION_NOT_CONFIGURED, state)
    return _wait(policy, state, now, seed, None)


def request_cancel(
    policy: PollPolicy, state: PollState, now: datetime, reason: ErrorCode = ErrorCode.CANCELLED
) -> Cancel | Wait:
    """Decide what a cancel request does: cancel the job, or, if a cancel is already under way, wait on."""
    if state.cancel_reason is not None:
        return Wait(policy.first_interval, state)
    return _cancel(policy, state, _utc(now), reason)


def woken(state: PollState) -> PollState:
    """The state after a wake-up event: one more received (the caller then polls at once)."""
    return replace(state, wakeups=state.wakeups + 1)


def relaxed(policy: PollPolicy, state: PollState) -> bool:
    """Whether the safety-net interval applies: events arrive for this run, and nothing needs a closer look
    (no cancel under way, no failed poll being retried or confirmed, the connection is there)."""
    return (policy.safety_net is not None and state.wakeups > 0 and state.cancel_reason is None
            and state.transient_errors == 0 and state.unreachable_since is None and state.unconfirmed_since is None)


def _base_wait(policy: PollPolicy, state: PollState, running_for: float) -> float:
    """The wait before jitter: the safety net once events arrive, else the backoff of `attempt` polls."""
    if relaxed(policy, state):
        return float(policy.safety_net or 0)
    return policy.interval(state.attempt, running_for)


def _run_deadline(state: PollState, now: datetime) -> str:
    """The run deadline, counted from now or from the start deadline if that passed unseen."""
    return _iso(min(now, _parse(state.start_deadline)) + timedelta(seconds=state.run_timeout))


def _finish(state: PollState, observation: StatusObservation) -> Finish:
    status = observation.status
    if status is RunStatus.SUCCESS:
        return Finish(status, None, state)
    if state.cancel_reason is not None:
        return Finish(*_outcome(state.cancel_reason), state)
    default = ErrorCode.CANCELLED if status is RunStatus.CANCELLED else ErrorCode.REMOTE_FAILED
    return Finish(status, observation.error_code or default, state)


def _outcome(reason: ErrorCode) -> tuple[RunStatus, ErrorCode]:
    """How a run we cancelled ends: Cancelled if someone asked, Failed with the reason otherwise."""
    return (RunStatus.CANCELLED if reason is ErrorCode.CANCELLED else RunStatus.FAILED), reason


def _cancel(
    policy: PollPolicy, state: PollState, now: datetime, reason: ErrorCode, retry_after: float | None = None
) -> Cancel:
    """Cancel now; the first confirming poll follows after first_interval (or the Retry-After hint)."""
    deadline = _iso(now + timedelta(seconds=policy.cancel_budget))
    state = replace(state, cancel_reason=reason, cancel_deadline=deadline, attempt=1)
    return Cancel(reason, max(policy.first_interval, _hint(retry_after, policy.retry_after_cap)), state)


def _wait(
    policy: PollPolicy, state: PollState, now: datetime, seed: str, retry_after: float | None
) -> Wait | ContinueAsNew:
    """The next wait: backoff shortened by jitter, not past the next deadline, never under Retry-After."""
    started = state.started_at
    running_for = 0.0 if started is None else max(0.0, (now - _parse(started)).total_seconds())
    base = _base_wait(policy, state, running_for)
    seconds = base * (1 - policy.jitter * _unit(seed))
    until = (_next_deadline(policy, state) - now).total_seconds()
    # Retry-After wins over the backoff, never over the next deadline (a start, run, unknown, cancel or
    # confirm budget that ends): an absurd hint must not carry a run past its budget.
    seconds = max(min(max(seconds, _hint(retry_after, policy.retry_after_cap)), until), MIN_WAIT)
    if policy.grown(state.attempt) < policy.ceiling:
        state = replace(state, attempt=state.attempt + 1)
    if state.polls % policy.polls_per_execution == 0:
        return ContinueAsNew(seconds, state)
    return Wait(seconds, state)


def _next_deadline(policy: PollPolicy, state: PollState) -> datetime:
    if state.unreachable_since is not None:
        return _parse(state.unreachable_since) + timedelta(seconds=policy.connection_budget)
    if state.cancel_deadline is not None:
        deadline = _parse(state.cancel_deadline)
    else:
        deadline = _parse(state.run_deadline or state.start_deadline)
        if state.unknown_since is not None:
            deadline = min(deadline, _unknown_deadline(policy, state))
    if state.unconfirmed_since is not None:
        deadline = min(deadline, _confirm_deadline(policy, state))
    return deadline


def _confirm_deadline(policy: PollPolicy, state: PollState) -> datetime:
    return _parse(state.unconfirmed_since) + timedelta(seconds=policy.confirm_budget)


def retry_wait(policy: PollPolicy, attempt: int, retry_after: float | None, now: datetime, *,
               deadline: datetime | None = None, refused_since: datetime | None = None) -> float | None:
    """Seconds to wait before trying a failed submit or outputs read again (after `attempt` + 1 tries),
    or None to give up.

    The wait doubles from retry_first to retry_cap and is never under the platform's Retry-After (capped
    at retry_after_cap; nonsense counts as none), never past `deadline` (the run's start deadline for a
    submit). A call refused (401/403/404) about a job runbridge made is tried again only until
    confirm_budget has passed since `refused_since`, its first refusal.
    """
    now = _utc(now)
    if attempt + 1 >= policy.retry_attempts:
        return None
    limit = math.inf
    if refused_since is not None:
        limit = (_utc(refused_since) + timedelta(seconds=policy.confirm_budget) - now).total_seconds()
    if deadline is not None:
        limit = min(limit, (_utc(deadline) - now).total_seconds())
    if limit <= 0:
        return None
    backoff = min(policy.retry_first * 2.0 ** min(attempt, 64), policy.retry_cap)
    wait = max(backoff, _hint(retry_after, policy.retry_after_cap))
    return max(min(wait, limit), MIN_WAIT)


def _unknown_deadline(policy: PollPolicy, state: PollState) -> datetime:
    return _parse(state.unknown_since) + timedelta(seconds=policy.unknown_budget)


def _hint(retry_after: float | None, cap: float) -> float:
    """A Retry-After hint in seconds, floored at zero and capped; nonsense counts as no hint."""
    if retry_after is None or not math.isfinite(retry_after):
        return 0.0
    return min(max(retry_after, 0.0), cap)


def _unit(seed: str) -> float:
    """A number in [0, 1) fixed by `seed`: the same seed on replay gives the same jitter."""
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive time is taken to be UTC already (as Durable's current_utc_datetime may be)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat()


def _parse(text: str | None) -> datetime:
    if text is None:
        raise ValueError("missing time")
    return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
