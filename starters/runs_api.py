"""The run API: start a run, read it, cancel it, read its history, list runs (DESIGN.md "The contract").

A run is a Durable orchestration whose instance id is the runId. Starting is durable before the 202 is
sent (the Durable start message is stored first), and idempotent: the same runId with the same request
answers with the existing run, never a second one; with a different request it is a 409.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func
import requests

from core.errors import ValidationError
from core.job_types import job_type_for_orchestrator, registered_job_types
from core.run_record import run_from_instance
from core.run_request import RUN_ID, RunRequest, parse_run_request
from core.status import TERMINAL, RunStatus
from platforms.http import PlatformError
from platforms.registry import client_for, connections, get_connection
from starters.responses import (
    PayloadTooLarge,
    error_response,
    json_response,
    read_json_body,
    too_large,
    validation_response,
)

log = logging.getLogger("runbridge.api")
bp = df.Blueprint()
CANCEL_EVENT = "cancel"
LIVE = ("Pending", "Running", "ContinuedAsNew", "Suspended")


def _run_url(req: func.HttpRequest, run_id: str) -> str:
    base = req.url.split("/api/", 1)[0]
    return f"{base}/api/runs/{quote(run_id)}"


async def _instance(client: df.DurableOrchestrationClient, run_id: str, **flags: bool) -> dict[str, Any] | None:
    """The Durable status of a run as a dict, or None when no run has this id."""
    if not RUN_ID.fullmatch(run_id or ""):
        return None
    status = await client.get_status(run_id, **flags)
    if not status or job_type_for_orchestrator(status.name or "") is None:
        return None
    return status.to_json()


def _stored_request(instance: dict[str, Any]) -> dict[str, Any] | None:
    raw = instance.get("input")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw.get("request") if isinstance(raw, dict) else None


def _same_run(req: func.HttpRequest, instance: dict[str, Any], request: RunRequest) -> func.HttpResponse:
    if _stored_request(instance) != request.to_dict():
        return error_response(409, "Conflict", "runId is already used by a different run request.", "runId")
    record = run_from_instance(instance)
    return json_response(200, record, {"Location": _run_url(req, request.run_id or "")})


@bp.route(route="runs", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def api_start_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/runs: validate, then start (202) or answer with the run this runId already names (200)."""
    try:
        body = read_json_body(req)
        request = parse_run_request(body, known_job_types=registered_job_types(), known_connections=connections())
    except PayloadTooLarge:
        return too_large()
    except ValidationError as exc:
        return validation_response(exc)
    request = request.with_run_id(request.run_id or uuid.uuid4().hex)
    run_id = request.run_id or ""
    existing = await _instance(client, run_id, show_input=True)
    if existing is not None:
        return _same_run(req, existing, request)
    try:
        await asyncio.to_thread(_check_on_platform, request)
    except ValidationError as exc:
        return validation_response(exc)
    orchestrator = registered_job_types()[request.job_type].orchestrator
    try:
        await client.start_new(orchestrator, run_id, {"request": request.to_dict()})
    except Exception:
        # Another request with this runId won the race: answer as for an existing run.
        existing = await _instance(client, run_id, show_input=True)
        if existing is None:
            log.exception("could not start run %s", run_id)
            return error_response(503, "StartFailed", "The run could not be started; try again.")
        return _same_run(req, existing, request)
    started = await _instance(client, run_id, show_input=True)
    record = run_from_instance(started or {"instanceId": run_id, "input": {"request": request.to_dict()},
                                           "runtimeStatus": "Pending"})
    return json_response(202, record, {"Location": _run_url(req, run_id), "Retry-After": "5"})


def _check_on_platform(request: RunRequest) -> None:
    """Check the request against the platform's job metadata; an unreachable platform defers the check.

    When the platform can't be reached now, the run is accepted and its submit checks again.
    """
    connection = get_connection(request.connection)
    if connection is None:
        raise ValidationError("connection", "is not a configured connection")
    try:
        client_for(connection).check_request(request)
    except PlatformError as exc:
        log.warning("could not check run %s against %s now (%s); submit will check", request.run_id,
                    request.connection, exc.code)


@bp.route(route="runs/{id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def api_get_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/runs/{id}: the run status, one shape for every job type."""
    instance = await _instance(client, req.route_params.get("id", ""), show_input=True)
    if instance is None:
        return error_response(404, "NotFound", "No run has this id.", "id")
    return json_response(200, run_from_instance(instance))


@bp.route(route="runs/{id}/cancel", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def api_cancel_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/runs/{id}/cancel: ask the run to cancel its remote job (202); 409 once it has ended."""
    run_id = req.route_params.get("id", "")
    instance = await _instance(client, run_id, show_input=True)
    if instance is None:
        return error_response(404, "NotFound", "No run has this id.", "id")
    record = run_from_instance(instance)
    if instance.get("runtimeStatus") not in LIVE or RunStatus(record["status"]) in TERMINAL:
        return error_response(409, "Conflict", f"The run has already ended ({record['status']}).", "id")
    try:
        await client.raise_event(run_id, CANCEL_EVENT, {"reason": "requested"})
    except Exception:
        return error_response(409, "Conflict", "The run has already ended.", "id")
    return json_response(202, record, {"Location": _run_url(req, run_id)})


@bp.route(route="runs/{id}/history", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def api_run_history(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/runs/{id}/history: the run's Durable event log (current execution), oldest first."""
    run_id = req.route_params.get("id", "")
    instance = await _instance(client, run_id, show_history=True, show_history_output=True, show_input=True)
    if instance is None:
        return error_response(404, "NotFound", "No run has this id.", "id")
    status = await client.get_status(run_id, show_history=True, show_history_output=True)
    events = [_event(e) for e in getattr(status, "historyEvents", None) or []]
    return json_response(200, {"id": run_id, "status": run_from_instance(instance)["status"], "events": events})


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
    """GET /api/runs?status=&jobType=&pageSize=&page=: runs, newest pages by the task hub's own paging."""
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
    # The SDK's get_status_by reads one page only (durable-functions.md §4), so page through the
    # client's RPC endpoint with the continuation-token header ourselves.
    base = client._orchestration_bindings.rpc_base_url
    headers = {"x-ms-continuation-token": req.params["page"]} if req.params.get("page") else {}
    response = await asyncio.to_thread(requests.get, f"{base}instances/", params={"top": size, "showInput": "true"},
                                       headers=headers, timeout=30)
    if response.status_code != 200:
        return error_response(502, "TaskHubUnavailable", "The run store could not be read; try again.")
    runs = []
    for instance in response.json():
        job_type = job_type_for_orchestrator(instance.get("name") or "")
        if job_type is None or (wanted_type and job_type.name != wanted_type):
            continue
        record = run_from_instance(instance)
        if wanted_status and record["status"] != wanted_status:
            continue
        runs.append(record)
    return json_response(200, {"runs": runs, "nextPage": response.headers.get("x-ms-continuation-token")})
