"""The chain API: start a chain of runs, read it, cancel it (DESIGN.md "Chains")."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func

from core.chain_record import new_chain_record
from core.chains import ChainRequest, parse_chain_request, step_run_id, valid_chain_id
from core.errors import ValidationError
from core.job_types import registered_job_types
from core.payloads import decode_json_text
from core.protocol import CANCEL_EVENT, CHAIN_ORCHESTRATOR, LIVE_RUNTIMES
from platforms.registry import connections, get_connection
from starters.chain_checks import StepRefused, check_chain
from starters.instance_ids import IdTaken, StartFailed, chain_with_step_id, claim, read_instance
from starters.platform_errors import platform_error_response
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


async def _chain_instance(client: df.DurableOrchestrationClient, chain_id: str) -> dict[str, Any] | None:
    if not valid_chain_id(chain_id):
        return None
    status = await client.get_status(chain_id, show_input=True)
    if not status or status.name != CHAIN_ORCHESTRATOR:
        return None
    return status.to_json()


def _input_of(instance: dict[str, Any]) -> dict[str, Any]:
    raw = decode_json_text(instance.get("input"))
    return raw if isinstance(raw, dict) else {}


def chain_from_instance(instance: dict[str, Any]) -> dict[str, Any]:
    """The chain record for a Durable instance status, whatever state the orchestration is in."""
    runtime, output, custom = instance.get("runtimeStatus"), instance.get("output"), instance.get("customStatus")
    if runtime == "Completed" and isinstance(output, dict):
        return output
    if isinstance(custom, dict) and "steps" in custom:
        record = dict(custom)
    else:
        steps = (_input_of(instance).get("chain") or {}).get("steps") or []
        record = new_chain_record(instance.get("instanceId", ""), steps, instance.get("createdTime") or "")
    if runtime in ("Failed", "Terminated"):
        record["status"] = "Failed" if runtime == "Failed" else "Cancelled"
    return record


def _url(req: func.HttpRequest, chain_id: str) -> str:
    return f"{req.url.split('/api/', 1)[0]}/api/chains/{quote(chain_id)}"


@bp.route(route="chains", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def api_start_chain(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/chains: check every step and binding, then start the chain (202, its record with createdAt).

    The same chainId and chain answers with the chain (200); an id a run or another chain holds is a 409,
    and so is a step whose run id (`<chainId>-<step>`) names a run already.
    """
    try:
        body = read_json_body(req)
        chain = parse_chain_request(body, known_job_types=registered_job_types(), known_connections=connections())
    except PayloadTooLarge:
        return too_large()
    except ValidationError as exc:
        return validation_response(exc)
    chain_id = chain.chain_id or uuid.uuid4().hex[:32]
    stored = ChainRequest(chain_id, chain.steps).to_dict()
    if await read_instance(client, chain_id) is None:
        refused = await _check_before_start(client, ChainRequest(chain_id, chain.steps))
        if refused is not None:
            return refused
    try:
        claimed = await claim(client, CHAIN_ORCHESTRATOR, chain_id, {"chain": stored},
                              lambda instance: _input_of(instance).get("chain") == stored)
    except IdTaken as exc:
        held = "a different chain" if exc.orchestrator == CHAIN_ORCHESTRATOR else "a run"
        return error_response(409, "Conflict", f"chainId is already used by {held}.", "chainId")
    except StartFailed:
        return error_response(503, "StartFailed", "The chain could not be started; try again.")
    record = chain_from_instance(claimed.instance)
    if not claimed.created:
        return json_response(200, record, {"Location": _url(req, chain_id)})
    return json_response(202, record, {"Location": _url(req, chain_id), "Retry-After": "5"})


async def _check_before_start(client: df.DurableOrchestrationClient, chain: ChainRequest
                              ) -> func.HttpResponse | None:
    """The answer refusing the chain, or None when its id and every step's run id are free and every step
    can run."""
    if await chain_with_step_id(client, chain.chain_id or "") is not None:
        return error_response(409, "Conflict", "chainId is already the run id of another chain's step.",
                              "chainId")
    for index, step in enumerate(chain.steps):
        run_id = step_run_id(chain.chain_id or "", step.name)
        if await read_instance(client, run_id) is not None:
            return error_response(409, "Conflict", f"steps[{index}].name: the step's run id {run_id} already "
                                                   "names a run or a chain.", f"steps[{index}].name")
    try:
        await asyncio.to_thread(check_chain, chain)
    except ValidationError as exc:
        return validation_response(exc)
    except StepRefused as exc:
        connection = get_connection(exc.connection)
        if connection is None:
            return error_response(400, "InvalidRequest", "is not a configured connection", exc.field)
        return platform_error_response(connection, exc.error, exc.field)
    return None


@bp.route(route="chains/{id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def api_get_chain(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/chains/{id}: every step's status and outputs."""
    instance = await _chain_instance(client, req.route_params.get("id", ""))
    if instance is None:
        return error_response(404, "NotFound", "No chain has this id.", "id")
    return json_response(200, chain_from_instance(instance))


@bp.route(route="chains/{id}/cancel", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def api_cancel_chain(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/chains/{id}/cancel: stop starting steps and cancel the running one (202); 409 once ended."""
    chain_id = req.route_params.get("id", "")
    instance = await _chain_instance(client, chain_id)
    if instance is None:
        return error_response(404, "NotFound", "No chain has this id.", "id")
    record = chain_from_instance(instance)
    if instance.get("runtimeStatus") not in LIVE_RUNTIMES or record["status"] != "Running":
        return error_response(409, "Conflict", f"The chain has already ended ({record['status']}).", "id")
    await client.raise_event(chain_id, CANCEL_EVENT, {"reason": "requested"})
    running = [s["runId"] for s in record["steps"] if s["status"] == "Running"]
    for run_id in running:
        try:
            await client.raise_event(run_id, CANCEL_EVENT, {"reason": "chain cancelled"})
        except Exception:  # the step's run ended meanwhile: nothing to cancel
            log.info("chain %s: step run %s had already ended", chain_id, run_id)
    return json_response(202, record, {"Location": _url(req, chain_id)})
