"""The Abacus wire (reference/abacus-pipelines.md §1): the envelope every answer carries, errorType as the
shared PlatformError, request ids, timestamps, and the API key kept out of every message.

- Success is `{"success": true, "result": ...}`; an error `{"success": false, "error", "errorType",
  "requestId"}`, and `success: false` may come with any HTTP status, 200 included (§6 gotcha 4), so the
  envelope is read on every answer. A body that is not JSON (a gateway's HTML page) is an error named by
  its status alone.
- The errorType decides how a caller treats the error (`classify`); the HTTP status only when the
  errorType is missing or unknown, except 429 and 504, which the SDK decides by status first (§1).
- `error` is free text: it is shown, never branched on (§6 gotcha 5). The request id (body `requestId`,
  else header `x-request-id`) is added to the message, so support can find the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import requests

from core.redaction import redact as redact_secrets
from platforms.http import ErrorKind, ErrorParser, PlatformError, error_kind

API_PREFIX = "/api/v0/"
REQUEST_ID_HEADER = "x-request-id"
MAX_MESSAGE = 2000  # characters of a platform message kept (gateway pages and tracebacks can be long)

# errorType (the SDK's exception class names, §1 table) -> how to treat it.
ERROR_KINDS: Mapping[str, ErrorKind] = {
    "DataNotFoundError": ErrorKind.NOT_FOUND,  # [C] runPipeline with an unknown pipelineId, any unknown id
    "Generic404Error": ErrorKind.NOT_FOUND,
    "TooManyRequestsError": ErrorKind.THROTTLED,
    "PermissionDeniedError": ErrorKind.AUTH,
    "GenericPermissionDeniedError": ErrorKind.AUTH,
    "PaymentMethodRequired": ErrorKind.AUTH,  # the organisation may not do this until billing is fixed
    "PaidPlanRequired": ErrorKind.AUTH,
    "MissingParameterError": ErrorKind.PERMANENT,
    "InvalidParameterError": ErrorKind.PERMANENT,
    "InvalidEnumParameterError": ErrorKind.PERMANENT,
    "InvalidRequest": ErrorKind.PERMANENT,
    "MethodNotAllowed": ErrorKind.PERMANENT,
    "ConflictError": ErrorKind.PERMANENT,
    "AlreadyExistsError": ErrorKind.PERMANENT,
    "FailedDependencyError": ErrorKind.PERMANENT,
    "InstanceNotModifiedError": ErrorKind.PERMANENT,
    "NotReadyError": ErrorKind.TRANSIENT,  # the object is still being prepared: later may work
    "InternalServerError": ErrorKind.TRANSIENT,
    "GatewayTimeoutError": ErrorKind.TRANSIENT,
    "TimeoutError": ErrorKind.TRANSIENT,  # the server's name; the SDK calls it RequestTimeoutError
    "RequestTimeoutError": ErrorKind.TRANSIENT,
}


def classify(status: int, error_type: str | None) -> ErrorKind:
    """The kind of an Abacus error: 429 and 504 by status (as the SDK), then the errorType, then the status."""
    if status == 429:
        return ErrorKind.THROTTLED
    if status == 504:
        return ErrorKind.TRANSIENT
    if error_type in ERROR_KINDS:
        return ERROR_KINDS[error_type]
    return error_kind(status)


def redact(text: str, secret: str | None) -> str:
    """`text` without the key in any form (a server may echo a wrong key back, or part of it:
    core/redaction.py), cut to MAX_MESSAGE characters."""
    text = redact_secrets(text, [secret])
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _error_of(response: requests.Response, body: Any, secret: str | None) -> tuple[str | None, str]:
    """(errorType, message with the request id) of an error answer, the key redacted."""
    envelope = body if isinstance(body, dict) else {}
    error_type = envelope.get("errorType") if isinstance(envelope.get("errorType"), str) else None
    text = envelope.get("error")
    if not isinstance(text, str) or not text.strip():
        text = f"HTTP {response.status_code} {response.reason or ''}".strip()
        if not isinstance(body, dict):
            text += " (not an Abacus answer)"
    request_id = envelope.get("requestId") or response.headers.get(REQUEST_ID_HEADER)
    if request_id:
        text = f"{text} (requestId {request_id})"
    return (redact(error_type, secret) if error_type else None), redact(text, secret)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_parser(secret: str | None) -> ErrorParser:
    """The HttpClient error parser for non-2xx answers: (errorType, message), never the key."""

    def parse(response: requests.Response) -> tuple[str | None, str]:
        return _error_of(response, _json(response), secret)

    return parse


def read_result(response: requests.Response, operation: str, secret: str | None) -> Any:
    """The `result` of a 2xx answer; PlatformError if its envelope says `success: false` or is no envelope."""
    body = _json(response)
    if isinstance(body, dict) and body.get("success") is True:
        return body.get("result")
    error_type, message = _error_of(response, body, secret)
    if isinstance(body, dict) and "success" in body:
        kind = classify(response.status_code, error_type)
    else:
        kind, message = ErrorKind.TRANSIENT, f"{message}: the answer is not an Abacus envelope"
    raise PlatformError(kind, message, code=error_type, http_status=response.status_code, operation=operation)


def parse_time(value: Any) -> datetime | None:
    """An Abacus timestamp (ISO-8601 with an offset, §5 [U]) as aware UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
