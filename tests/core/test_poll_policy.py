import json
import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.poll_policy import (
    MIN_WAIT,
    Cancel,
    ContinueAsNew,
    Finish,
    PollPolicy,
    PollState,
    StatusObservation,
    TransientError,
    Unconfirmed,
    Wait,
    next_poll,
    request_cancel,
    retry_wait,
)
from core.status import ErrorCode, RunStatus

UTC = timezone.utc
T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = PollPolicy(
    first_interval=5,
    growth=2,
    max_interval=60,
    jitter=0,
    transient_budget=3,
    unknown_budget=600,
    cancel_budget=300,
    polls_per_execution=1000,
)


def seen(status, remote=None, **kwargs):
    return StatusObservation(status, remote if remote is not None else status.value, **kwargs)


RUNNING = seen(RunStatus.RUNNING, "Running")
STARTING = seen(RunStatus.STARTING, "Queued")
UNKNOWN = seen(RunStatus.UNKNOWN, "Paused")
ERROR = TransientError()


def fresh(start_timeout=timedelta(hours=1), timeout=timedelta(hours=6)):
    return PollState.start(T0, start_timeout, timeout)


def drive(observations, policy=POLICY, state=None, now=T0):
    """Feed observations in order, moving time by each decision's wait; stop at Finish."""
    state = state or fresh()
    steps = []
    for index, observation in enumerate(observations):
        decision = next_poll(policy, state, observation, now, f"seed-{index}")
        steps.append((now, decision))
        if isinstance(decision, Finish):
            break
        state = decision.state
        now += timedelta(seconds=decision.seconds)
    return steps


def waits(steps):
    return [d.seconds for _, d in steps]


def last(steps):
    return steps[-1][1]


def test_intervals_grow_to_the_cap_and_stay_there():
    assert waits(drive([RUNNING] * 8)) == [5, 10, 20, 40, 60, 60, 60, 60]


def test_the_default_policy_grows_from_five_seconds_to_a_minute():
    policy = replace(PollPolicy(), jitter=0)
    assert waits(drive([RUNNING] * 9, policy)) == [5, 7.5, 11.25, 16.875, 25.3125, 37.96875, 56.953125, 60, 60]


def test_with_the_defaults_a_six_hour_job_ends_in_at_most_410_polls_and_8_restarts():
    done_at = T0 + timedelta(hours=6)
    state, now, kinds = fresh(timedelta(hours=1), timedelta(hours=24)), T0, []
    while not kinds or kinds[-1] != "Finish":
        observation = seen(RunStatus.SUCCESS, "Completed") if now >= done_at else RUNNING
        decision = next_poll(PollPolicy(), state, observation, now, f"uuid-{len(kinds)}")
        kinds.append(type(decision).__name__)
        if not isinstance(decision, Finish):
            state, now = decision.state, now + timedelta(seconds=decision.seconds)
    assert len(kinds) <= 410
    assert kinds.count("ContinueAsNew") == len(kinds) // 50 == 8
    assert now - done_at <= timedelta(minutes=1)  # noticed within one capped interval


def test_a_new_remote_status_resets_the_interval():
    observations = [STARTING, STARTING, STARTING, seen(RunStatus.STARTING, "Preparing"), RUNNING, RUNNING]
    assert waits(drive(observations)) == [5, 10, 20, 5, 5, 10]


def test_without_reset_on_change_the_interval_keeps_growing():
    policy = replace(POLICY, reset_on_change=False)
    assert waits(drive([STARTING, STARTING, RUNNING, RUNNING], policy)) == [5, 10, 20, 40]


def test_retry_after_is_a_floor_that_beats_the_cap_but_not_its_own_cap():
    steps = drive([RUNNING, seen(RunStatus.RUNNING, retry_after=300), TransientError(retry_after=2), RUNNING])
    assert waits(steps) == [5, 300, 20, 40]
    assert next_poll(POLICY, fresh(), TransientError(retry_after=10_000), T0, "s").seconds == 600
    for nonsense in (-5, math.nan, math.inf):
        assert next_poll(POLICY, fresh(), TransientError(retry_after=nonsense), T0, "s").seconds == 5


def test_transient_errors_are_tolerated_up_to_the_budget_then_the_run_fails():
    steps = drive([RUNNING, ERROR, ERROR, ERROR, ERROR])
    assert [type(d) for _, d in steps] == [Wait, Wait, Wait, Wait, Finish]
    assert waits(steps[:-1]) == [5, 10, 20, 40]  # errors keep backing off
    finish = last(steps)
    assert (finish.status, finish.error_code) == (RunStatus.FAILED, ErrorCode.TRANSIENT_BUDGET_EXHAUSTED)
    assert finish.state.remote_status == "Running"  # the last status seen is kept for the report


def test_a_good_poll_resets_the_transient_count():
    steps = drive([ERROR, ERROR, ERROR, RUNNING, ERROR, ERROR, ERROR, RUNNING])
    assert all(isinstance(d, Wait) for _, d in steps)
    assert last(steps).state.transient_errors == 0


def test_unknown_has_its_own_budget_then_the_job_is_cancelled():
    steps = drive([RUNNING] + [UNKNOWN] * 30 + [seen(RunStatus.CANCELLED, "Canceled")])
    cancel_at, cancel = next((now, d) for now, d in steps if isinstance(d, Cancel))
    unknown_from = steps[1][0]
    assert cancel.reason is ErrorCode.UNKNOWN_STATUS_BUDGET_EXHAUSTED
    assert cancel_at == unknown_from + timedelta(seconds=600)  # the wait is clamped to land on the budget
    finish = last(steps)
    assert (finish.status, finish.error_code) == (RunStatus.FAILED, ErrorCode.UNKNOWN_STATUS_BUDGET_EXHAUSTED)


def test_a_known_status_ends_the_unknown_spell_and_errors_do_not():
    steps = drive([UNKNOWN, ERROR, UNKNOWN, RUNNING, UNKNOWN])
    states = [d.state for _, d in steps]
    assert states[0].unknown_since == states[1].unknown_since == states[2].unknown_since == T0.isoformat()
    assert states[3].unknown_since is None
    assert states[4].unknown_since == steps[4][0].isoformat()


def test_the_start_deadline_cancels_a_job_that_never_runs():
    steps = drive([STARTING] * 200 + [seen(RunStatus.CANCELLED, "Canceled")], state=fresh(timedelta(minutes=10)))
    cancel_at, cancel = next((now, d) for now, d in steps if isinstance(d, Cancel))
    assert cancel.reason is ErrorCode.TIMEOUT
    assert cancel_at == T0 + timedelta(minutes=10)  # polled right at the deadline, not a cap later
    finish = last(steps)
    assert (finish.status, finish.error_code) == (RunStatus.FAILED, ErrorCode.TIMEOUT)


def test_a_wait_before_submit_fits_only_if_it_ends_by_the_start_deadline():
    state = fresh(timedelta(minutes=10))
    assert state.starts_in_time(T0, 600) and not state.starts_in_time(T0, 600.5)
    naive = (T0 + timedelta(minutes=9)).replace(tzinfo=None)  # Durable's current_utc_datetime may be naive
    assert state.starts_in_time(naive, 60) and not state.starts_in_time(naive, 61)


def test_the_run_deadline_counts_from_the_first_running_and_survives_continue_as_new():
    state = fresh(timedelta(hours=1), timedelta(hours=1))
    steps = drive([STARTING] * 40, state=state)
    now = steps[-1][0] + timedelta(seconds=steps[-1][1].seconds)
    assert now > T0 + timedelta(minutes=30)
    first = next_poll(POLICY, steps[-1][1].state, RUNNING, now, "s")
    assert first.state.run_deadline == (now + timedelta(hours=1)).isoformat()
    assert first.state.started_at == now.isoformat()
    carried = PollState.from_dict(json.loads(json.dumps(first.state.to_dict())))
    more = drive([RUNNING] * 200, state=carried, now=now + timedelta(seconds=first.seconds))
    cancel_at, cancel = next((at, d) for at, d in more if isinstance(d, Cancel))
    assert (cancel.reason, cancel_at) == (ErrorCode.TIMEOUT, now + timedelta(hours=1))


def test_a_first_running_seen_after_the_start_deadline_counts_from_that_deadline():
    state = fresh(timedelta(minutes=10), timedelta(hours=1))
    late = T0 + timedelta(minutes=15)  # polls were held off by a long Retry-After
    decision = next_poll(POLICY, state, RUNNING, late, "s")
    assert isinstance(decision, Wait)
    assert decision.state.run_deadline == (T0 + timedelta(minutes=70)).isoformat()


def test_a_run_that_never_ran_stays_under_its_start_deadline_even_when_unknown():
    policy = replace(POLICY, unknown_budget=10_000)
    steps = drive([UNKNOWN] * 200, policy, state=fresh(timedelta(minutes=10)))
    cancel_at, cancel = next((now, d) for now, d in steps if isinstance(d, Cancel))
    assert (cancel.reason, cancel_at) == (ErrorCode.TIMEOUT, T0 + timedelta(minutes=10))


def test_transient_errors_past_the_deadline_still_cancel():
    state = fresh(timedelta(minutes=1))
    decision = next_poll(POLICY, state, ERROR, T0 + timedelta(minutes=2), "s")
    assert isinstance(decision, Cancel) and decision.reason is ErrorCode.TIMEOUT


def test_a_terminal_status_past_the_deadline_is_reported_as_it_is():
    decision = next_poll(POLICY, fresh(timedelta(minutes=1)), seen(RunStatus.SUCCESS), T0 + timedelta(hours=1), "s")
    assert (decision.status, decision.error_code) == (RunStatus.SUCCESS, None)


@pytest.mark.parametrize(
    ("observation", "status", "code"),
    [
        (seen(RunStatus.SUCCESS, "Completed"), RunStatus.SUCCESS, None),
        (seen(RunStatus.FAILED, "Failed"), RunStatus.FAILED, ErrorCode.REMOTE_FAILED),
        (seen(RunStatus.FAILED, None, error_code=ErrorCode.NOT_FOUND), RunStatus.FAILED, ErrorCode.NOT_FOUND),
        (seen(RunStatus.CANCELLED, "Canceled"), RunStatus.CANCELLED, ErrorCode.CANCELLED),
    ],
)
def test_terminal_statuses_finish_with_their_code(observation, status, code):
    decision = next_poll(POLICY, fresh(), observation, T0, "s")
    assert isinstance(decision, Finish)
    assert (decision.status, decision.error_code, decision.state.polls) == (status, code, 1)


def test_the_platform_can_ask_for_a_cancel_with_its_own_code():
    requires_action = seen(RunStatus.RUNNING, "requires_action", error_code=ErrorCode.REQUIRES_ACTION)
    steps = drive([RUNNING, requires_action, seen(RunStatus.RUNNING, "cancelling"), seen(RunStatus.CANCELLED)])
    assert [type(d) for _, d in steps] == [Wait, Cancel, Wait, Finish]
    assert (last(steps).status, last(steps).error_code) == (RunStatus.FAILED, ErrorCode.REQUIRES_ACTION)


def test_a_user_cancel_is_confirmed_by_polling_until_the_job_ends():
    state = drive([RUNNING])[-1][1].state
    cancel = request_cancel(POLICY, state, T0 + timedelta(seconds=3))
    assert isinstance(cancel, Cancel)
    assert (cancel.reason, cancel.seconds) == (ErrorCode.CANCELLED, 5)
    assert cancel.state.cancel_deadline == (T0 + timedelta(seconds=303)).isoformat()
    again = request_cancel(POLICY, cancel.state, T0 + timedelta(seconds=4))
    assert isinstance(again, Wait) and again.state == cancel.state  # no second cancel call
    steps = drive(
        [seen(RunStatus.RUNNING, "CancelRequested"), seen(RunStatus.CANCELLED, "Canceled")], state=cancel.state
    )
    assert (last(steps).status, last(steps).error_code) == (RunStatus.CANCELLED, ErrorCode.CANCELLED)


def test_a_job_that_succeeds_while_being_cancelled_is_a_success():
    cancel = request_cancel(POLICY, fresh(), T0)
    decision = next_poll(POLICY, cancel.state, seen(RunStatus.SUCCESS), T0, "s")
    assert (decision.status, decision.error_code) == (RunStatus.SUCCESS, None)


def test_a_job_that_fails_while_being_cancelled_ends_as_the_cancel_meant():
    cancel = request_cancel(POLICY, fresh(), T0)
    decision = next_poll(POLICY, cancel.state, seen(RunStatus.FAILED), T0, "s")
    assert (decision.status, decision.error_code) == (RunStatus.CANCELLED, ErrorCode.CANCELLED)


def test_an_unconfirmed_cancel_ends_when_its_budget_does():
    cancel = request_cancel(POLICY, fresh(), T0, ErrorCode.TIMEOUT)
    steps = drive([RUNNING] * 100, state=cancel.state, now=T0 + timedelta(seconds=cancel.seconds))
    assert steps[-1][0] == T0 + timedelta(seconds=300)
    assert (last(steps).status, last(steps).error_code) == (RunStatus.FAILED, ErrorCode.TIMEOUT)


def test_continue_as_new_every_n_polls_and_the_count_carries_on():
    policy = replace(POLICY, polls_per_execution=4)
    state, kinds = fresh(), []
    now = T0
    for index in range(12):
        decision = next_poll(policy, state, RUNNING, now, str(index))
        kinds.append(type(decision).__name__)
        state = decision.state
        if isinstance(decision, ContinueAsNew):
            state = PollState.from_dict(json.loads(json.dumps(state.to_dict())))
        now += timedelta(seconds=decision.seconds)
    assert kinds == ["Wait", "Wait", "Wait", "ContinueAsNew"] * 3
    assert state.polls == 12


def test_jitter_is_fixed_by_the_seed():
    policy = replace(POLICY, jitter=0.5)
    a = next_poll(policy, fresh(), RUNNING, T0, "3f2a1c9e-0000-5000-8000-000000000001")
    b = next_poll(policy, fresh(), RUNNING, T0, "3f2a1c9e-0000-5000-8000-000000000001")
    assert a == b
    spread = {next_poll(policy, fresh(), RUNNING, T0, f"seed-{i}").seconds for i in range(50)}
    assert len(spread) == 50


@settings(max_examples=300, deadline=None)
@given(
    seed=st.text(max_size=40),
    attempt=st.integers(0, 10_000),
    jitter=st.floats(0, 0.99),
)
def test_jitter_stays_within_its_bounds(seed, attempt, jitter):
    policy = replace(POLICY, jitter=jitter, first_interval=2, max_interval=60)
    state = replace(fresh(), status=RunStatus.RUNNING, remote_status="Running", attempt=attempt)
    decision = next_poll(policy, state, RUNNING, T0, seed)
    base = policy.interval(attempt)
    assert max(MIN_WAIT, base * (1 - jitter)) <= decision.seconds <= base <= 60


def test_naive_times_are_taken_as_utc():
    aware = next_poll(POLICY, fresh(), RUNNING, T0, "s")
    naive = next_poll(POLICY, fresh(), RUNNING, T0.replace(tzinfo=None), "s")
    assert aware == naive


@pytest.mark.parametrize(
    "bad",
    [
        {"first_interval": 0.5},
        {"first_interval": 100, "max_interval": 60},
        {"growth": 0.9},
        {"jitter": 1.0},
        {"transient_budget": -1},
        {"polls_per_execution": 0},
    ],
)
def test_policy_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        PollPolicy(**bad)


# ---- whole runs, generated ---------------------------------------------------------------------

active = st.sampled_from(
    [STARTING, seen(RunStatus.STARTING, "Preparing"), RUNNING, seen(RunStatus.RUNNING, "Finalizing"), UNKNOWN]
)
polls = st.one_of(active, active, active, st.just(ERROR), st.builds(TransientError, st.floats(0, 900)))


@settings(max_examples=200, deadline=None)
@given(
    observations=st.lists(polls, min_size=1, max_size=400),
    start_timeout=st.integers(1, 240),
    timeout=st.integers(1, 600),
    cancel_at=st.none() | st.integers(0, 400),
)
def test_no_run_polls_forever_and_the_state_always_round_trips(observations, start_timeout, timeout, cancel_at):
    policy = replace(POLICY, jitter=0.3, transient_budget=1000, polls_per_execution=25)
    state = fresh(timedelta(minutes=start_timeout), timedelta(minutes=timeout))
    # The latest deadline, then at most one Retry-After to notice it, the cancel budget, one more Retry-After.
    overshoot = policy.cancel_budget + 2 * policy.retry_after_cap
    limit = T0 + timedelta(minutes=start_timeout + timeout, seconds=overshoot)
    now, index = T0, 0
    while True:
        observation = observations[index % len(observations)]
        if index == cancel_at:
            decision = request_cancel(policy, state, now)
        else:
            decision = next_poll(policy, state, observation, now, f"uuid-{index}")
        assert PollState.from_dict(json.loads(json.dumps(decision.state.to_dict()))) == decision.state
        if isinstance(decision, Finish):
            break
        assert decision.seconds >= MIN_WAIT
        state = decision.state
        now += timedelta(seconds=decision.seconds)
        index += 1
        assert now <= limit, "the run outlived its deadlines"
    assert decision.status is RunStatus.FAILED or decision.status is RunStatus.CANCELLED
    assert decision.error_code in {
        ErrorCode.TIMEOUT,
        ErrorCode.CANCELLED,
        ErrorCode.UNKNOWN_STATUS_BUDGET_EXHAUSTED,
    }


# ---- an age-scaled cap (elapsed_fraction) ------------------------------------------------------

AGED = replace(POLICY, elapsed_fraction=0.05, max_elapsed_interval=3600)


def test_the_cap_follows_the_time_the_job_has_been_running():
    assert [AGED.cap(seconds) for seconds in (0, 600, 1200, 2400, 36_000, 100_000)] == [60, 60, 60, 120, 1800, 3600]
    assert [AGED.interval(3, seconds) for seconds in (0, 2400)] == [40, 40]  # growth still comes first
    assert AGED.interval(30, 2400) == 120
    assert AGED.ceiling == 3600 and POLICY.ceiling == 60


def test_without_elapsed_fraction_the_cap_is_max_interval_whatever_the_age():
    assert POLICY.cap(10**6) == 60 and POLICY.interval(50, 10**6) == 60


def test_before_the_first_running_the_cap_stays_at_max_interval():
    assert waits(drive([STARTING] * 40, AGED))[-1] == 60


def _run_a_job(policy, running_hours, lead=timedelta(seconds=80)):
    """Polls a job that starts after `lead` and ends after `running_hours`; returns (polls, lag)."""
    state, now, index = fresh(timedelta(hours=1), timedelta(hours=48)), T0, 0
    started, ended = T0 + lead, T0 + lead + timedelta(hours=running_hours)
    while True:
        observation = STARTING if now < started else RUNNING if now < ended else seen(RunStatus.SUCCESS)
        decision = next_poll(policy, state, observation, now, f"uuid-{index}")
        index += 1
        if isinstance(decision, Finish):
            return decision.state.polls, now - ended
        state, now = decision.state, now + timedelta(seconds=decision.seconds)


@pytest.mark.parametrize("hours", [0.1, 0.5, 2, 2.3, 7, 24, 24.4, 168])
def test_an_aged_cap_notices_the_end_within_five_percent_or_a_minute(hours):
    policy = replace(AGED, jitter=0.1)
    polls, lag = _run_a_job(policy, hours)
    assert lag <= max(timedelta(minutes=1), timedelta(hours=hours) * 0.05)
    assert polls < _run_a_job(replace(POLICY, jitter=0.1), hours)[0] or hours < 0.5


def test_the_azureml_policy_polls_a_two_hour_job_about_seventy_times_and_a_day_long_one_about_125():
    from orchestrators.azureml_pipeline import POLICY as AZUREML

    assert _run_a_job(AZUREML, 2)[0] <= 75
    assert _run_a_job(AZUREML, 24)[0] <= 130


def test_the_aged_cap_is_deterministic_and_jitter_only_shortens_it():
    state = replace(fresh(), status=RunStatus.RUNNING, remote_status="Running", attempt=40,
                    run_deadline=(T0 + timedelta(hours=6)).isoformat())  # started at T0
    later = T0 + timedelta(hours=2)
    policy = replace(AGED, jitter=0.3)
    a, b = (next_poll(policy, state, RUNNING, later, "seed") for _ in range(2))
    assert a == b
    assert 360 * 0.7 <= a.seconds <= 360


@pytest.mark.parametrize(
    "bad", [{"elapsed_fraction": 0}, {"elapsed_fraction": 1.5}, {"elapsed_fraction": 0.05, "max_elapsed_interval": 30}]
)
def test_an_aged_policy_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        PollPolicy(**bad)


# ---- issue 19: stray refusals are re-checked, retries of submit and outputs are bounded ---------------------

GONE = Unconfirmed(ErrorCode.NOT_FOUND)


def test_one_stray_404_or_403_is_rechecked_and_a_good_answer_forgets_it():
    steps = drive([STARTING, GONE, Unconfirmed(ErrorCode.PLATFORM_REJECTED), STARTING, RUNNING])
    assert not any(isinstance(d, Finish) for _, d in steps)
    assert last(steps).state.unconfirmed_since is None and last(steps).state.status is RunStatus.RUNNING


def test_a_refusal_that_holds_for_the_confirm_budget_ends_the_run_with_its_code():
    policy = replace(POLICY, confirm_budget=120)
    steps = drive([STARTING] + [GONE] * 50, policy=policy)
    end = last(steps)
    assert isinstance(end, Finish) and (end.status, end.error_code) == (RunStatus.FAILED, ErrorCode.NOT_FOUND)
    first_refusal = steps[1][0]
    assert steps[-1][0] - first_refusal == timedelta(seconds=120)  # waits are cut to the budget's end
    assert len(steps) >= 4  # re-checked several times, not believed at once


def test_transient_errors_between_refusals_do_not_reset_the_confirm_clock():
    policy = replace(POLICY, confirm_budget=60, transient_budget=100)
    steps = drive([STARTING, GONE, ERROR, GONE, ERROR, GONE, GONE, GONE, GONE], policy=policy)
    assert isinstance(last(steps), Finish) and last(steps).error_code is ErrorCode.NOT_FOUND


def test_retry_waits_double_to_the_cap_honour_retry_after_and_give_up_after_the_attempts():
    policy = PollPolicy(retry_attempts=4, retry_first=10, retry_cap=30, retry_after_cap=600)
    assert [retry_wait(policy, n, None, T0) for n in range(4)] == [10, 20, 30, None]
    assert retry_wait(policy, 0, 45.0, T0) == 45.0


@pytest.mark.parametrize("hint", [99999999999.0, 1e13, math.inf, math.nan, -5.0, 1e308])
def test_an_absurd_retry_after_never_makes_an_absurd_wait(hint):
    policy = PollPolicy()
    wait = retry_wait(policy, 0, hint, T0)
    assert wait is not None and MIN_WAIT <= wait <= policy.retry_after_cap
    T0 + timedelta(seconds=wait)  # a timer can be built from it


def test_a_retry_wait_never_passes_the_deadline_and_none_once_it_has_passed():
    policy = PollPolicy()
    deadline = T0 + timedelta(seconds=100)
    assert retry_wait(policy, 0, 3600.0, T0, deadline=deadline) == 100
    assert retry_wait(policy, 0, None, deadline, deadline=deadline) is None


def test_refusals_are_retried_only_within_the_confirm_budget():
    policy = PollPolicy(confirm_budget=300, retry_first=15)
    assert retry_wait(policy, 0, None, T0, refused_since=T0) == 15
    assert retry_wait(policy, 3, None, T0 + timedelta(seconds=290), refused_since=T0) == 10  # to the budget's end
    assert retry_wait(policy, 4, None, T0 + timedelta(seconds=300), refused_since=T0) is None


def test_a_retry_after_never_carries_the_wait_past_the_next_deadline():
    state = fresh(start_timeout=timedelta(seconds=100))
    decision = next_poll(POLICY, state, TransientError(retry_after=3600.0), T0, "s")
    assert decision.seconds == 100  # the start deadline, not the hint
    decision = next_poll(POLICY, state, TransientError(retry_after=30.0), T0, "s")
    assert decision.seconds == 30  # a hint inside the budget still wins over the backoff
