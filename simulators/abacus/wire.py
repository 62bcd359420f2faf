"""Abacus wire shapes: the `{success, result}` / `{success, error, errorType, requestId}` envelopes, the
errorType each HTTP status carries, a gateway's non-JSON error page, timestamps and ids.

abacus-pipelines.md ("the reference") §1 "Envelope" and "errorType → exception". The client maps an error
by the *name* in `errorType` (`globals()[errorType]` in the SDK), and by HTTP status first for 429, 504
and 505+; so both the status and the name below are part of the wire contract.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from typing import Any

from simulators.routing import Response

REQUEST_ID_HEADER = "x-request-id"  # §1 Envelope: the SDK falls back to this header for the request id

# errorType names are the SDK's exception classes (§1 table). Statuses are the reference's "likely HTTP",
# except where marked [C]. Server-side failures (500, 502, 503) carry no errorType by default: that is
# what issue #10 shows ("ApiException(500): Internal server error", §1) and what a gateway sends.
MISSING_PARAMETER = "MissingParameterError"
INVALID_PARAMETER = "InvalidParameterError"
INVALID_ENUM = "InvalidEnumParameterError"
INVALID_REQUEST = "InvalidRequest"
PERMISSION_DENIED = "PermissionDeniedError"
DATA_NOT_FOUND = "DataNotFoundError"  # [C] 404, e.g. runPipeline on an unknown pipelineId
GENERIC_404 = "Generic404Error"  # an unknown /api/v0/<method>
METHOD_NOT_ALLOWED = "MethodNotAllowed"
CONFLICT = "ConflictError"
ALREADY_EXISTS = "AlreadyExistsError"  # [C] createPipeline with a name in use (tutorial)
TOO_MANY_REQUESTS = "TooManyRequestsError"  # [C client] 429

ERROR_TYPES: dict[int, str | None] = {
    400: INVALID_REQUEST,
    401: PERMISSION_DENIED,
    403: PERMISSION_DENIED,
    404: DATA_NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    408: "TimeoutError",  # the SDK maps the server's "TimeoutError" to RequestTimeoutError
    409: CONFLICT,
    429: TOO_MANY_REQUESTS,
    500: None,
    502: None,
    503: None,
    504: "GatewayTimeoutError",
}

GATEWAY_STATUSES = frozenset({502, 503, 504})
_GATEWAY_TITLES = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}


def ok(result: Any, headers: dict[str, str] | None = None) -> Response:
    """A success envelope: HTTP 200 `{"success": true, "result": ...}` (result may be null or a list)."""
    return Response(200, {"success": True, "result": result}, headers)


def new_request_id() -> str:
    """A request id as the service's gateway would stamp it."""
    return str(uuid.uuid4())


def error(
    status: int,
    message: str,
    error_type: str | None,
    *,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error envelope `{"success": false, "error", "errorType"?, "requestId"}` with its HTTP status.

    A None `error_type` leaves the key out, as a 500 from the real service can (§1: the SDK then raises
    a plain ApiException). The same request id goes in the body and in the `x-request-id` header.
    """
    request_id = request_id or new_request_id()
    body: dict[str, Any] = {"success": False, "error": message}
    if error_type is not None:
        body["errorType"] = error_type
    body["requestId"] = request_id
    return Response(status, body, {REQUEST_ID_HEADER: request_id, **(headers or {})})


def gateway_page(status: int, headers: dict[str, str] | None = None) -> Response:
    """A load balancer's HTML error page: not JSON, so a client must fall back to the status and the text
    (§1 Envelope: "If the body is not JSON ... the SDK uses response.text as the message")."""
    title = _GATEWAY_TITLES.get(status, f"{status} Error")
    page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
    page += "</body>\r\n</html>\r\n"
    return Response(status, page.encode(), {"Content-Type": "text/html", **(headers or {})})


def wire_time(moment: datetime | None) -> str | None:
    """ISO-8601 with an offset and whole seconds, as in the reference's example (`2025-01-01T00:00:00+00:00`;
    §5: the format is [U], clients must treat it as opaque)."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def make_id(kind: str, seq: int) -> str:
    """A deterministic Abacus-looking id: 10 lower-case hex characters (§5: "short hex strings")."""
    return hashlib.sha256(f"abacus-sim:{kind}:{seq}".encode()).hexdigest()[:10]
