"""Poll policy with platform events: the safety net applies once a run was woken, and only then."""

from dataclasses import replace
from datetime import timedelta

import pytest

from core.poll_policy import PollPolicy, PollState, TransientError, Wait, next_poll, relaxed, woken
from core.status import ErrorCode
from tests.core.test_poll_policy import POLICY, RUNNING, T0, fresh

EVENTS = replace(POLICY, safety_net=3600.0)


def _wait_after(policy: PollPolicy, state: PollState, observation=RUNNING) -> float:
    decision = next_poll(policy, state, observation, T0 + timedelta(minutes=10), "seed")
    assert isinstance(decision, Wait)
    return decision.seconds


def test_before_any_wake_up_todays_policy_holds():
    assert _wait_after(EVENTS, fresh()) == _wait_after(POLICY, fresh()) == 5


def test_once_woken_the_wait_is_the_safety_net_and_the_count_rides_in_the_state():
    state = woken(fresh())
    assert state.wakeups == 1 and PollState.from_dict(state.to_dict()).wakeups == 1
    assert _wait_after(EVENTS, state) == 3600
    assert _wait_after(POLICY, state) == 5  # a policy without a safety net never relaxes


def test_a_transient_error_or_a_cancel_under_way_polls_closely_again():
    state = woken(fresh())
    assert _wait_after(EVENTS, state, TransientError()) == 5
    cancelling = replace(state, cancel_reason=ErrorCode.CANCELLED,
                         cancel_deadline=(T0 + timedelta(hours=1)).isoformat())
    assert not relaxed(EVENTS, cancelling)


def test_the_safety_net_never_passes_the_run_deadline():
    state = replace(woken(fresh(timeout=timedelta(minutes=30))), status=RUNNING.status,
                    run_deadline=(T0 + timedelta(minutes=40)).isoformat())
    assert _wait_after(EVENTS, state) == 30 * 60


@pytest.mark.parametrize("net", [30.0, 7200.0])
def test_the_safety_net_is_at_least_max_interval_and_at_most_an_hour(net):
    with pytest.raises(ValueError, match="safety_net"):
        replace(POLICY, safety_net=net)
