"""ARM's subscription request limits as token buckets on the simulator's clock (optional).

azureml-jobs.md §3.2: the regional token bucket allows 250 reads (refill 25/s) and 200 writes or
deletes (refill 10/s) per subscription; past it ARM answers 429 with Retry-After, and the remaining
quota shows in `x-ms-ratelimit-remaining-subscription-reads` / `-writes`. Off by default: a
VirtualClock that does not move would make every long test throttle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

READS = (250, 25.0)
WRITES = (200, 10.0)


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second of clock time."""

    capacity: int
    rate: float

    def __post_init__(self) -> None:
        self.tokens = float(self.capacity)
        self.updated: datetime | None = None

    def take(self, now: datetime) -> tuple[bool, int]:
        """Spend one token at `now`: (allowed, Retry-After seconds when refused)."""
        elapsed = 0.0 if self.updated is None else max(0.0, (now - self.updated).total_seconds())
        self.tokens = min(float(self.capacity), self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, 0
        return False, max(1, math.ceil((1 - self.tokens) / self.rate))
