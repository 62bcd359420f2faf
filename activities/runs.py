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
from platforms.base import PlatformClient, RemoteState
from platforms.http import ErrorKind, PlatformError
from platforms.registry import client_for, get_connection

log = logging.getLogger("runbridge.activities")
# 401/403/404: a platform mid-deployment or a lagging replica sends them once; the orchestrator believes
# them only once they hold (core.poll_policy confirm_budget), and reconciles before each new submit.
REFUSALS = (ErrorKind.AUTH, ErrorKind.NOT_FOUND)
bp = df.Blueprint()


def _client(request: RunRequest) -> PlatformClient:
    connection = get_connection(request.connection)
    if connection is None:
        raise ValidationError("connection", "is no longer configured on this app")
    return client_for(connection)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _platform_code_of(state: RemoteState) -> str:
    return (state.error_code or ErrorCode.NOT_FOUND).value


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
        # the starter checked the job exists: "not found" now may be one stray 404, so it is asked again
        return {"ok": False, "refused": exc.code == ErrorCode.NOT_FOUND.value,
                "error": _error("InvalidParameter", str(exc))}
    except PlatformError as exc:
        return {**_failure(exc), "refused": exc.kind in REFUSALS}
    return {"ok": True, "remoteRunId": submitted.remote_run_id, "monitorUrl": submitted.monitor_url,
            "remoteStatus": submitted.remote_status, "outputs": dict(submitted.outputs)}


@bp.activity_trigger(input_name="payload", activity="poll_run")
def poll_run(payload: dict[str, Any]) -> dict[str, Any]:
    """One look at the remote run; a transient failure is reported as data, not raised."""
    request = RunRequest.from_dict(payload["request"])
    try:
        state = _client(request).get_state(payload["remoteRunId"])
    except PlatformError as exc:
        if exc.transient:
            return {"transient": True, "retryAfter": exc.retry_after, "error": str(exc)}
        if exc.kind in REFUSALS:  # about a job this run made: maybe stray
            return {"unconfirmed": True, "errorCode": _platform_code(exc), "error": str(exc)}
        return {"status": "Failed", "remoteStatus": None, "errorCode": _platform_code(exc), "error": str(exc)}
    if not state.confirmed:
        return {"unconfirmed": True, "errorCode": _platform_code_of(state), "error": state.error}
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
        # a refusal (401/403/404) may be stray too: the cancel is sent again at the next poll, within the
        # cancel budget, so one stray answer never leaves the job running
        return {"ok": False, "transient": exc.transient or exc.kind in REFUSALS, "error": str(exc)}
    return {"ok": True}


@bp.activity_trigger(input_name="payload", activity="read_outputs")
def read_outputs(payload: dict[str, Any]) -> dict[str, Any]:
    """The run's outputs by name; a failure to read them is reported, the run's status stands."""
    request = RunRequest.from_dict(payload["request"])
    try:
        outputs = _client(request).outputs(payload["remoteRunId"], request)
    except PlatformError as exc:
        # refused (401/403/404) about a job this run made: maybe stray, so tried again for a while
        return {**_failure(exc), "refused": exc.kind in REFUSALS}
    return {"ok": True, "outputs": dict(outputs)}


def _failure(exc: PlatformError) -> dict[str, Any]:
    """A failed call as data: transient and busy ones carry the platform's Retry-After for the orchestrator's
    wait (busy: the platform must finish other work first, and the run asked to wait for it)."""
    return {"ok": False, "transient": exc.transient, "busy": exc.kind == ErrorKind.BUSY,
            "retryAfter": exc.retry_after, "error": _error(_platform_code(exc), str(exc))}
