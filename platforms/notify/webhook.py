"""Webhook sink: an HTTPS POST per event, signed per the Standard Webhooks specification.

Headers `webhook-id` (the event id, the same on every retry, so a receiver drops repeats), `webhook-timestamp`
(Unix seconds of this attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`,
keyed with the base64 part of the `whsec_` secret. `verify` is the receiver's side (the demo and tests
check every delivery with it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core.sinks import SECRET_PREFIX, Sink
from platforms.http import IN_ACTIVITY, HttpClient, PlatformError
from platforms.notify.reply import SINK_TIMEOUT, Reply, encode_event, failed

TOLERANCE_SECONDS = 300  # a receiver refuses a timestamp further than this from its clock (replays)


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one message."""
    mac = hmac.new(_key(secret), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> str | None:
    """None when the headers sign `body` with `secret` within the tolerance; else what is wrong."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id, stamp = lowered.get("webhook-id"), lowered.get("webhook-timestamp")
    signatures = (lowered.get("webhook-signature") or "").split()
    if not message_id or not stamp or not signatures:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        timestamp = int(stamp)
    except ValueError:
        return "webhook-timestamp is not a number"
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        return "webhook-timestamp is too far from now"
    expected = sign(secret, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        return "no signature matches"
    return None


class WebhookSink:
    """POSTs events to one configured URL, one request per event, in order, stopping at the first failure."""

    def __init__(self, sink: Sink, clock: Callable[[], float] = time.time) -> None:
        self.http = HttpClient(sink.settings["url"], retry=IN_ACTIVITY, timeout=SINK_TIMEOUT)
        self._secret = sink.settings["secret"]
        self._clock = clock

    def send(self, events: Sequence[Mapping[str, Any]]) -> Reply:
        status = None
        for index, event in enumerate(events):
            body = encode_event(event)
            stamp = int(self._clock())
            headers = {"content-type": "application/json", "webhook-id": event["id"], "webhook-timestamp": str(stamp),
                       "webhook-signature": sign(self._secret, event["id"], stamp, body)}
            try:
                response = self.http.request("POST", self.http.base_url, operation="webhook", data=body,
                                             headers=headers)
            except PlatformError as exc:
                return failed(index, exc)
            status = response.status_code
        return Reply(len(events), status)
