"""Thin activities for every job type: resolve the connection, call one client verb, return plain data.

They never branch on a run's status; they only turn a platform error into data the poll loop reads
(transient or not, with the platform's Retry-After), so an orchestrator never sees an exception type it
must know and waits out a transient failure on a durable timer before calling again.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from core.errors import ValidationError
from core.run_request import RunRequest
from core.status import ErrorCode
from platforms.base import PlatformClient
from platforms.http import ErrorKind, PlatformError
from platforms.registry import client_for, get_connection

log = logging.getLogger("runbridge.activities")
bp = df.Blueprint()


def _client(request: RunRequest) -> PlatformClient:
    connection = get_connection(request.connection)
    if connection is None:
        raise ValidationError("connection", "is no longer configured on this app")
    return client_for(connection)


def _events_wired(request: RunRequest) -> bool:
    connection = get_connection(request.connection)
    return connection is not None and connection.settings.get("events") == "eventgrid"


def _error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _platform_code(exc: PlatformError) -> str:
    if exc.kind == ErrorKind.NOT_FOUND:
        return ErrorCode.NOT_FOUND.value
    return ErrorCode.PLATFORM_REJECTED.value


@bp.activity_trigger(input_name="payload", activity="submit_run")
def submit_run(payload: dict[str, Any]) -> dict[str, Any]:
    """Create the remote job (or find the one this run made before): remoteRunId and monitor link."""
    request = RunRequest.from_dict(payload["request"]).with_created_at(payload.get("createdAt"))
    try:
        submitted = _client(request).submit(request, request.run_id or "")
    except ValidationError as exc:
        return {"ok": False, "error": _error("InvalidParameter", str(exc))}
    except PlatformError as exc:
        return _failure(exc)
    return {"ok": True, "remoteRunId": submitted.remote_run_id, "monitorUrl": submitted.monitor_url,
            "remoteStatus": submitted.remote_status, "outputs": dict(submitted.outputs),
            # the connection's status events are wired: the run races their wake-ups (poll_loop.py)
            "events": _events_wired(request)}


@bp.activity_trigger(input_name="payload", activity="poll_run")
def poll_run(payload: dict[str, Any]) -> dict[str, Any]:
    """One look at the remote run; a transient failure is reported as data, not raised."""
    request = RunRequest.from_dict(payload["request"])
    try:
        state = _client(request).get_state(payload["remoteRunId"])
    except PlatformError as exc:
        if exc.transient:
            return {"transient": True, "retryAfter": exc.retry_after, "error": str(exc)}
        return {"status": "Failed", "remoteStatus": None, "errorCode": _platform_code(exc), "error": str(exc)}
    return {"status": state.status.value, "remoteStatus": state.remote_status, "startedAt": state.started_at,
            "endedAt": state.ended_at, "error": state.error,
            "errorCode": state.error_code.value if state.error_code else None}


@bp.activity_trigger(input_name="payload", activity="cancel_run")
def cancel_run(payload: dict[str, Any]) -> dict[str, Any]:
    """Ask the platform to stop the run; the loop polls until it confirms."""
    request = RunRequest.from_dict(payload["request"])
    try:
        _client(request).cancel(payload["remoteRunId"])
    except PlatformError as exc:
        return {"ok": False, "transient": exc.transient, "error": str(exc)}
    return {"ok": True}


@bp.activity_trigger(input_name="payload", activity="read_outputs")
def read_outputs(payload: dict[str, Any]) -> dict[str, Any]:
    """The run's outputs by name; a failure to read them is reported, the run's status stands."""
    request = RunRequest.from_dict(payload["request"])
    try:
        outputs = _client(request).outputs(payload["remoteRunId"], request)
    except PlatformError as exc:
        return _failure(exc)
    return {"ok": True, "outputs": dict(outputs)}


def _failure(exc: PlatformError) -> dict[str, Any]:
    """A failed call as data: transient and busy ones carry the platform's Retry-After for the orchestrator's
    wait (busy: the platform must finish other work first, and the run asked to wait for it)."""
    return {"ok": False, "transient": exc.transient, "busy": exc.kind == ErrorKind.BUSY,
            "retryAfter": exc.retry_after, "error": _error(_platform_code(exc), str(exc))}
