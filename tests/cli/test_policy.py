"""The command's waits as pure functions: following backs off like the app's poll policy, Retry-After
lengthens a wait up to the cap, a failed request is retried on a doubling backoff, durations parse."""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timezone

import pytest

from core.poll_policy import PollPolicy
from runbridge_cli.main import seconds
from runbridge_cli.policy import FollowPolicy, RetryPolicy, next_follow_wait, parse_retry_after, retry_backoff


def test_the_follow_defaults_are_the_apps_poll_defaults():
    app, cli = PollPolicy(), FollowPolicy()
    assert (cli.first_interval, cli.growth, cli.max_interval, cli.jitter) == (
        app.first_interval, app.growth, app.max_interval, app.jitter)


def test_follow_waits_grow_to_the_cap_and_never_go_under_a_retry_after_hint():
    policy = FollowPolicy(jitter=0)
    assert [next_follow_wait(policy, n) for n in range(8)] == [5, 7.5, 11.25, 16.875, 25.3125, 37.96875, 56.953125,
                                                                60]
    assert next_follow_wait(policy, 10_000) == 60  # no overflow
    assert next_follow_wait(policy, 0, retry_after=30) == 30
    assert next_follow_wait(policy, 0, retry_after=3600) == 60  # a hint past the cap is cut to it
    jittered = [next_follow_wait(FollowPolicy(), 0, rng=random.Random(seed)) for seed in range(50)]
    assert all(4 < wait <= 5 for wait in jittered) and len(set(jittered)) > 1


def test_a_failed_request_is_retried_on_a_doubling_backoff_then_given_up():
    policy = RetryPolicy()
    assert [retry_backoff(policy, n) for n in range(1, 7)] == [1, 2, 4, 8, 16, None]
    assert retry_backoff(policy, 1, retry_after=20) == 20
    assert retry_backoff(policy, 1, retry_after=10_000) == policy.retry_after_cap
    assert retry_backoff(RetryPolicy(attempts=100), 60) == policy.max_backoff


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("5") == 5
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:30 GMT", now) == 30
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now) == 0
    assert [parse_retry_after(v) for v in (None, "", "soon", "-3")] == [None] * 4


@pytest.mark.parametrize(("text", "value"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200),
                                             ("1h30m", 5400), ("PT2H", 7200), ("PT1M30S", 90), ("P1D", 86400),
                                             ("0.5", 0.5)])
def test_durations(text, value):
    assert seconds(text) == value


@pytest.mark.parametrize("text", ["", "soon", "PT", "P", "5 minutes", "-3"])
def test_nonsense_durations_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        seconds(text)
