"""The queue starter: a run request (or a cancel) as a message on the `runbridge-runs` storage queue.

A message carries the same JSON body as `POST /api/runs` and starts the run the same way
(`starters.start`): idempotently, with the runId as instance id or, when the body has none, a run id
derived from the queue message id, so a redelivered message finds the run it started and never makes a
second one. `{"cancel": "<runId>"}` asks that run to cancel; an unknown or ended run is logged and the
message dropped.

A message that can never succeed (not JSON, a wrong field, a runId used by another request) is not
retried: it goes to `runbridge-runs-rejected` as `{"error": {code, message, field}, "body": "<the
message text>", "messageId", "dequeueCount", "insertedAt"}`, is logged once, and the function returns
normally so the host deletes it. Only a failure that may pass (the task hub not answering) raises: the
host retries the message and after host.json `maxDequeueCount` moves it to `runbridge-runs-poison`.

Both queues use the `AzureWebJobsStorage` connection and the queue extension's message encoding (base64
by default in extension 5.x: producers put base64-encoded UTF-8 JSON, consumers of the rejected queue
decode it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from core.errors import ValidationError
from core.run_request import RUN_ID, derive_run_id
from platforms.http import PlatformError
from platforms.registry import get_connection
from starters.platform_errors import platform_error_body
from starters.start import CancelOutcome, RunConflict, cancel_run, start_run, validate_run_request

log = logging.getLogger("runbridge.queue")
bp = df.Blueprint()

RUNS_QUEUE = "runbridge-runs"
REJECTED_QUEUE = "runbridge-runs-rejected"
STORAGE_CONNECTION = "AzureWebJobsStorage"
# A queue message holds at most 64 KiB, base64 text included: 48 KiB of UTF-8 before encoding. The copy
# of a rejected body is cut to fit, so the rejection itself can always be written.
MAX_REJECTED_BYTES = 46 * 1024
MAX_BODY_BYTES = 64 * 1024


class _Rejected(Exception):
    """The message can't succeed as it is; it goes to the rejected queue with `error`."""

    def __init__(self, error: ValidationError | Mapping[str, Any]) -> None:
        super().__init__(str(error))
        self.error = error


@bp.queue_trigger(arg_name="msg", queue_name=RUNS_QUEUE, connection=STORAGE_CONNECTION)
@bp.queue_output(arg_name="rejected", queue_name=REJECTED_QUEUE, connection=STORAGE_CONNECTION)
@bp.durable_client_input(client_name="client")
async def queue_start_run(msg: func.QueueMessage, rejected: func.Out[str],
                          client: df.DurableOrchestrationClient) -> None:
    """Start (or cancel) the run a `runbridge-runs` message asks for; dead-letter what can never succeed."""
    try:
        body = _read_body(msg)
        if isinstance(body, dict) and "cancel" in body:
            await _cancel(client, body, msg)
        else:
            await _start(client, body, msg)
    except _Rejected as exc:
        log.warning("queue message %s rejected (not retried; see %s): %s", msg.id, REJECTED_QUEUE,
                    exc.error)
        rejected.set(rejection(msg, exc.error))


async def _start(client: df.DurableOrchestrationClient, body: Any, msg: func.QueueMessage) -> None:
    try:
        request = validate_run_request(body)
        request = request.with_run_id(request.run_id or derive_run_id(msg.id))
        started = await start_run(client, request)
    except RunConflict as exc:
        raise _Rejected(exc) from None
    except ValidationError as exc:
        raise _Rejected(exc) from None
    except PlatformError as exc:
        # The platform refused the connection (a credential that gets no token, a missing role, a wrong
        # key): retrying the message changes nothing until an operator acts, so it is rejected with the
        # connection test's hint, as the HTTP API answers 502. A transient failure never gets here.
        connection = get_connection(request.connection)
        if connection is None:
            raise _Rejected(ValidationError("connection", "is not a configured connection")) from None
        raise _Rejected(platform_error_body(connection, exc)) from None
    # StartFailed (the task hub did not take it) propagates: the host retries the message.
    if started.created:
        log.info("queue message %s started run %s", msg.id, started.run_id)
    else:
        log.info("queue message %s names run %s, which exists (dequeue count %s): not started again",
                 msg.id, started.run_id, msg.dequeue_count)


async def _cancel(client: df.DurableOrchestrationClient, body: dict[str, Any], msg: func.QueueMessage) -> None:
    for key in body:
        if key != "cancel":
            raise _Rejected(ValidationError(str(key) if isinstance(key, str) and key.isidentifier() else "$",
                                            "is not a field of a cancel message; expected only cancel"))
    run_id = body["cancel"]
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise _Rejected(ValidationError("cancel", "must be a runId: letters, digits, '_' and '-', "
                                                  "starting with a letter or digit"))
    cancelled = await cancel_run(client, run_id, reason="requested by queue")
    if cancelled.outcome is CancelOutcome.REQUESTED:
        log.info("queue message %s: cancel requested for run %s", msg.id, run_id)
    elif cancelled.outcome is CancelOutcome.NOT_FOUND:
        log.warning("queue message %s: cancel of run %s dropped: no run has this id", msg.id, run_id)
    else:
        log.warning("queue message %s: cancel of run %s dropped: the run has already ended", msg.id, run_id)


def _read_body(msg: func.QueueMessage) -> Any:
    raw = msg.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise _Rejected(ValidationError("$", f"the message is larger than {MAX_BODY_BYTES} bytes"))
    if not raw.strip():
        raise _Rejected(ValidationError("$", "the message must be a JSON object"))
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _Rejected(ValidationError("$", "the message is not valid JSON")) from None


def rejection(msg: func.QueueMessage, error: ValidationError | Mapping[str, Any]) -> str:
    """The rejected-queue message: the error, the original text (cut to fit a queue message), where from."""
    text = (msg.get_body() or b"").decode("utf-8", errors="replace")
    body = error.to_dict() if isinstance(error, ValidationError) else dict(error)
    shape: dict[str, Any] = {**body, "body": text, "messageId": msg.id,
                             "dequeueCount": msg.dequeue_count, "insertedAt": _iso(msg.insertion_time)}
    encoded = json.dumps(shape, ensure_ascii=False)
    if len(encoded.encode("utf-8")) <= MAX_REJECTED_BYTES:
        return encoded
    # The longest prefix of the body that fits once JSON-escaped (escapes make the size non-linear).
    fits, too_long = 0, len(text)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        size = len(json.dumps({**shape, "body": text[:middle], "bodyTruncated": True}, ensure_ascii=False)
                   .encode("utf-8"))
        fits, too_long = (middle, too_long) if size <= MAX_REJECTED_BYTES else (fits, middle)
    return json.dumps({**shape, "body": text[:fits], "bodyTruncated": True}, ensure_ascii=False)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None
