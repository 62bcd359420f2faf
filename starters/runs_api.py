"""The run API: start a run, read it, cancel it, read its history, list runs (DESIGN.md "The contract").

A run is a Durable orchestration whose instance id is the runId. Starting is durable before the 202 is
sent (the Durable start message is stored first), and idempotent: the same runId with the same request
answers with the existing run, never a second one; with a different request it is a 409.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func
import requests

from core.errors import ValidationError
from core.job_types import job_type_for_orchestrator, registered_job_types
from core.run_record import RUNTIMES_FOR_STATUS, run_from_instance
from core.run_request import RunRequest
from core.status import RunStatus
from core.timeline import timeline_from_events
from maintenance.sweep_notes import with_sweep_note
from platforms.http import PlatformError
from platforms.registry import get_connection
from starters.instance_ids import StartFailed
from starters.platform_errors import platform_error_response
from starters.responses import (
    PayloadTooLarge,
    error_response,
    json_response,
    read_json_body,
    too_large,
    validation_response,
)
from starters.start import (
    CancelOutcome,
    RunConflict,
    TaskHubUnavailable,
    cancel_run,
    find_run,
    list_instances,
    preview_run,
    start_run,
    validate_run_request,
)

log = logging.getLogger("runbridge.api")
bp = df.Blueprint()


def _run_url(req: func.HttpRequest, run_id: str) -> str:
    base = req.url.split("/api/", 1)[0]
    return f"{base}/api/runs/{quote(run_id)}"


@bp.route(route="runs", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def api_start_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/runs: validate, then start (202) or answer with the run this runId already names (200)."""
    try:
        request = validate_run_request(read_json_body(req))
    except PayloadTooLarge:
        return too_large()
    except ValidationError as exc:
        return validation_response(exc)
    request = request.with_run_id(request.run_id or uuid.uuid4().hex)
    dry_run = (req.params.get("dryRun") or "false").casefold()
    if dry_run not in ("true", "false"):
        return error_response(400, "InvalidRequest", "dryRun must be true or false.", "dryRun")
    if dry_run == "true":
        return await _dry_run(request)
    try:
        started = await start_run(client, request)
    except RunConflict as exc:
        return error_response(409, "Conflict", f"{exc}.", "runId")
    except ValidationError as exc:
        return validation_response(exc)
    except PlatformError as exc:
        return _platform_refused(request, exc)
    except StartFailed:
        return error_response(503, "StartFailed", "The run could not be started; try again.")
    location = {"Location": _run_url(req, started.run_id)}
    if not started.created:
        return json_response(200, started.record, location)
    return json_response(202, started.record, {**location, "Retry-After": "5"})


async def _dry_run(request: RunRequest) -> func.HttpResponse:
    """POST /api/runs?dryRun=true: the checks of a start and the remote request it would send; nothing starts."""
    try:
        preview = await asyncio.to_thread(preview_run, request)
    except ValidationError as exc:
        return validation_response(exc)
    except PlatformError as exc:
        return _platform_refused(request, exc)
    return json_response(200, preview)


def _platform_refused(request: RunRequest, exc: PlatformError) -> func.HttpResponse:
    """502 naming the connection, with the connection test's hint (504 when the platform may answer later)."""
    log.warning("run %s: %s refused or failed: %s", request.run_id, request.connection, exc.code)
    connection = get_connection(request.connection)
    if connection is None:  # removed from the settings since the request was checked
        return error_response(400, "InvalidRequest", "connection: is not a configured connection", "connection")
    return platform_error_response(connection, exc)


@bp.route(route="runs/{id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def api_get_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/runs/{id}: the run status, one shape for every job type."""
    instance = await find_run(client, req.route_params.get("id", ""), show_input=True)
    if instance is None:
        return error_response(404, "NotFound", "No run has this id.", "id")
    return json_response(200, await with_sweep_note(client, instance, run_from_instance(instance)))


@bp.route(route="runs/{id}/cancel", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def api_cancel_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/runs/{id}/cancel: ask the run to cancel its remote job (202); 409 once it has ended."""
    run_id = req.route_params.get("id", "")
    cancelled = await cancel_run(client, run_id)
    if cancelled.outcome is CancelOutcome.NOT_FOUND:
        return error_response(404, "NotFound", "No run has this id.", "id")
    if cancelled.outcome is CancelOutcome.ENDED:
        ended = f" ({cancelled.record['status']})" if cancelled.record else ""
        return error_response(409, "Conflict", f"The run has already ended{ended}.", "id")
    return json_response(202, cancelled.record, {"Location": _run_url(req, run_id)})


@bp.route(route="runs/{id}/history", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def api_run_history(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/runs/{id}/history: the run's Durable event log (current execution), oldest first, and the
    timeline the dashboard draws from it (core/timeline.py)."""
    run_id = req.route_params.get("id", "")
    instance = await find_run(client, run_id, show_history=True, show_history_output=True, show_input=True)
    if instance is None:
        return error_response(404, "NotFound", "No run has this id.", "id")
    status = await client.get_status(run_id, show_history=True, show_history_output=True)
    events = [_event(e) for e in getattr(status, "historyEvents", None) or []]
    return json_response(200, {"id": run_id, "status": run_from_instance(instance)["status"], "events": events,
                               "timeline": timeline_from_events(events)})


def _event(raw: dict[str, Any]) -> dict[str, Any]:
    event = {"type": raw.get("EventType"), "time": raw.get("Timestamp")}
    name = raw.get("FunctionName") or raw.get("Name")
    if name:
        event["name"] = name
    for key in ("Result", "Input", "Reason", "FireAt"):
        if raw.get(key) is not None:
            event[key[0].lower() + key[1:]] = raw[key]
    return event


@bp.route(route="runs", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def api_list_runs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/runs?status=&jobType=&connection=&pageSize=&page=: runs, paged by the task hub's own paging."""
    try:
        size = int(req.params.get("pageSize") or 50)
    except ValueError:
        return error_response(400, "InvalidRequest", "pageSize must be a whole number from 1 to 100.", "pageSize")
    if not 1 <= size <= 100:
        return error_response(400, "InvalidRequest", "pageSize must be a whole number from 1 to 100.", "pageSize")
    wanted_status = req.params.get("status")
    if wanted_status and wanted_status not in {s.value for s in RunStatus}:
        return error_response(400, "InvalidRequest", "status is not a run status.", "status")
    wanted_type = req.params.get("jobType")
    if wanted_type and wanted_type not in registered_job_types():
        return error_response(400, "InvalidRequest", "jobType is not a job type of this app.", "jobType")
    wanted_connection = get_connection(req.params["connection"]) if req.params.get("connection") else None
    if req.params.get("connection") and wanted_connection is None:
        return error_response(400, "InvalidRequest", "connection is not a connection of this app.", "connection")
    query = {"top": str(size), "showInput": "true"}
    if wanted_status:  # ask the task hub for the instances that can be in it: fewer empty pages
        query["runtimeStatus"] = ",".join(RUNTIMES_FOR_STATUS[RunStatus(wanted_status)])
    try:
        page = await list_instances(client, query, req.params.get("page"))
    except (TaskHubUnavailable, requests.RequestException):
        return error_response(502, "TaskHubUnavailable", "The run store could not be read; try again.")
    runs = []
    for instance in page.instances:
        job_type = job_type_for_orchestrator(instance.get("name") or "")
        if job_type is None or (wanted_type and job_type.name != wanted_type):
            continue
        record = await with_sweep_note(client, instance, run_from_instance(instance))
        if wanted_status and record["status"] != wanted_status:
            continue
        if wanted_connection and str(record.get("connection") or "").casefold() != wanted_connection.name.casefold():
            continue
        runs.append(record)
    return json_response(200, {"runs": runs, "nextPage": page.next_page})
