"""How often the command reads a run, and how it retries a failed request: data and pure functions.

Following a run backs off like the app's own poll policy (core/poll_policy.py: 5 s, growing by half each
unchanged read, up to a minute, back to 5 s on a change), so a six-hour run costs a few hundred reads,
not thousands. A `Retry-After` hint from runbridge lengthens a wait, up to the cap. Failed requests
(unreachable, 5xx, 429) are retried on a doubling backoff before the command gives up with exit code 5.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class FollowPolicy:
    """The waits between two reads of a run; seconds."""

    first_interval: float = 5.0  # after the start, and after every status change
    growth: float = 1.5  # each unchanged read multiplies the wait by this
    max_interval: float = 60.0  # the longest wait; a longer Retry-After hint is cut to this
    jitter: float = 0.2  # each computed wait is shortened by a random fraction below this
    unreachable_reads: int = 10  # consecutive reads that fail after their retries before exit code 5

    def __post_init__(self) -> None:
        if not (0 < self.first_interval <= self.max_interval and self.growth >= 1 and 0 <= self.jitter < 1):
            raise ValueError("need 0 < first_interval <= max_interval, growth >= 1 and 0 <= jitter < 1")


@dataclass(frozen=True)
class RetryPolicy:
    """How one request is retried when runbridge is unreachable or answers 5xx or 429; seconds."""

    attempts: int = 6  # tries in all: five retries, about half a minute
    first_backoff: float = 1.0
    growth: float = 2.0
    max_backoff: float = 30.0
    retry_after_cap: float = 120.0  # a longer Retry-After hint on a 429/503 is cut to this


def next_follow_wait(policy: FollowPolicy, unchanged: int, retry_after: float | None = None,
                     rng: random.Random | None = None) -> float:
    """The wait before the next read after `unchanged` reads without a change; never under the hint."""
    try:
        grown = policy.first_interval * policy.growth ** unchanged
    except OverflowError:
        grown = policy.max_interval
    wait = min(policy.max_interval, grown)
    wait *= 1 - (rng or random).random() * policy.jitter
    if retry_after is not None:
        wait = max(wait, min(retry_after, policy.max_interval))
    return wait


def retry_backoff(policy: RetryPolicy, failures: int, retry_after: float | None = None) -> float | None:
    """The wait before retrying after `failures` failed tries, or None when the tries are spent."""
    if failures >= policy.attempts:
        return None
    try:
        wait = min(policy.max_backoff, policy.first_backoff * policy.growth ** (failures - 1))
    except OverflowError:
        wait = policy.max_backoff
    if retry_after is not None:
        wait = max(wait, min(retry_after, policy.retry_after_cap))
    return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds, floored at zero; None when absent or nonsense."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
