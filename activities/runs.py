"""Thin activities for every job type: resolve the connection, call one client verb, return a protocol result.

They never branch on a run's status. Every failure is answered, never raised (activities/guard.py), so an
orchestrator never sees an exception type it must know and waits out a transient failure on a durable
timer before calling again. A submitted run stays bound to where its remote job lives: the connection's
coordinates captured at submit travel in every later call; its identity and keys are resolved by name now.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from core.protocol import (
    CANCEL_RUN,
    POLL_RUN,
    READ_OUTPUTS,
    SUBMIT_RUN,
    ActivityCall,
    ActivityError,
    CancelSent,
    OutputsRead,
    Polled,
    RunError,
    Submitted,
)
from core.run_request import RunRequest
from core.run_steps import RunSteps, failure_message, steps_due
from core.status import ErrorCode, RunStatus, is_terminal
from platforms.base import PlatformClient
from platforms.http import PlatformError
from platforms.registry import client_for, get_connection

from .guard import REFUSALS, ConnectionNotConfigured, guarded, platform_code

log = logging.getLogger("runbridge.activities")
bp = df.Blueprint()


def _client(call: ActivityCall, request: RunRequest) -> tuple[PlatformClient, dict[str, str]]:
    """The client for the run's connection, at the run's coordinates once it has them; and those coordinates."""
    connection = get_connection(request.connection)
    if connection is None:
        raise ConnectionNotConfigured(request.connection)
    if call.coordinates:
        connection = connection.at(call.coordinates)
    return client_for(connection), connection.coordinates()


@bp.activity_trigger(input_name="payload", activity=SUBMIT_RUN)
@guarded(SUBMIT_RUN)
def submit_run(payload: dict[str, Any]) -> Submitted:
    """Create the remote job (or find the one this run made before): remoteRunId, monitor link, coordinates."""
    call = ActivityCall.from_dict(payload)
    request = RunRequest.from_dict(call.request).with_created_at(call.created_at)
    client, coordinates = _client(call, request)
    made = client.submit(request, request.run_id or "")
    return Submitted(made.remote_run_id, made.monitor_url, made.remote_status, dict(made.outputs), coordinates,
                     _events_wired(request))


def _events_wired(request: RunRequest) -> bool:
    """The connection's status events are wired (events=eventgrid): the run races their wake-ups (poll_loop.py)."""
    connection = get_connection(request.connection)
    return connection is not None and connection.settings.get("events") == "eventgrid"


@bp.activity_trigger(input_name="payload", activity=POLL_RUN)
@guarded(POLL_RUN)
def poll_run(payload: dict[str, Any]) -> Polled:
    """One look at the remote run. A platform's refusal is an answer (Failed); a transient failure is data."""
    call = ActivityCall.from_dict(payload)
    client, _ = _client(call, RunRequest.from_dict(call.request))
    try:
        state = client.get_state(call.remote_run_id or "")
    except PlatformError as exc:
        if exc.transient or exc.kind in REFUSALS:  # a refusal about the run's own job may be stray: the
            raise  # guard answers it `refused`, and the loop re-checks before believing it
        return Polled(RunStatus.FAILED, None, error=RunError.of(platform_code(exc), str(exc)))
    if not state.confirmed:  # "not found": believed only once it holds
        return ActivityError(RunError.of(state.error_code or ErrorCode.NOT_FOUND, state.error or ""), refused=True)
    steps, retry_after = None, None
    if steps_due(call.remote_status, state.remote_status, state.status):
        steps, failure = _steps(client, call.remote_run_id or "")
        if failure is not None and failure.transient and is_terminal(state.status):
            # the end is reported with its steps (a pipeline's failure names its failing step): a throttled
            # or failed read at the end makes this poll transient, so the loop looks again after the wait
            raise failure
        retry_after = failure.retry_after if failure is not None else None
    message = failure_message(state.error, steps, state.status)
    error = RunError.from_value(message, state.error_code.value if state.error_code else None)
    if error is None and state.error_code is not None:
        error = RunError.of(state.error_code, "")
    return Polled(state.status, state.remote_status, state.started_at, state.ended_at, error,
                  None if steps is None else steps.to_dict(),
                  None if state.usage is None else state.usage.to_dict(), retry_after)


def _steps(client: PlatformClient, remote_run_id: str) -> tuple[RunSteps | None, PlatformError | None]:
    """The run's steps (read when the remote status changed or the run ended: core.run_steps.steps_due), or
    None with the platform's error when they cannot be read now. Between changes a failed read never fails
    a poll; its Retry-After goes to the loop, so it waits that long before it calls again."""
    try:
        return client.steps(remote_run_id), None
    except PlatformError as exc:
        log.info("steps of %s unavailable: %s", remote_run_id, exc)
        return None, exc
    except ValueError as exc:
        log.info("steps of %s unavailable: %s", remote_run_id, exc)
        return None, None


@bp.activity_trigger(input_name="payload", activity=CANCEL_RUN)
@guarded(CANCEL_RUN)
def cancel_run(payload: dict[str, Any]) -> CancelSent:
    """Ask the platform to stop the run; the loop polls until it confirms."""
    call = ActivityCall.from_dict(payload)
    client, _ = _client(call, RunRequest.from_dict(call.request))
    client.cancel(call.remote_run_id or "")
    return CancelSent()


@bp.activity_trigger(input_name="payload", activity=READ_OUTPUTS)
@guarded(READ_OUTPUTS)
def read_outputs(payload: dict[str, Any]) -> OutputsRead:
    """The run's outputs by name; a failure to read them is reported, the run's status stands."""
    call = ActivityCall.from_dict(payload)
    request = RunRequest.from_dict(call.request)
    client, _ = _client(call, request)
    return OutputsRead(dict(client.outputs(call.remote_run_id or "", request)))
