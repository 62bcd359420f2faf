"""What a sink answered to a delivery: how many events of the batch it took, and why it stopped."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from platforms.http import PlatformError

# Connect and read timeouts of every sink call: a slow receiver holds an activity worker (shared with the
# runs' polls) for at most this long per event before its delivery is retried on a durable timer.
SINK_TIMEOUT = (3.05, 10.0)


@dataclass(frozen=True)
class Reply:
    """`delivered` events of the batch were taken, in order; when fewer than all, `error` says why."""

    delivered: int
    status: int | None = None  # the sink's HTTP status for the last call
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "delivered": self.delivered, "status": self.status, "error": self.error,
                "retryAfter": self.retry_after}


def failed(delivered: int, exc: PlatformError) -> Reply:
    """The reply for a batch that stopped at a failed call (never a secret: PlatformError carries none)."""
    return Reply(delivered, exc.http_status, str(exc), exc.retry_after)


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The exact bytes sent for one event (signatures are over these bytes)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
