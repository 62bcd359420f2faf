"""Validate a run request, start its run idempotently, cancel a run: what the HTTP API and the queue share.

A run is a Durable orchestration whose instance id is the runId. Starting is idempotent: the same runId
with the same request gives back the run that exists (never a second remote job); the same runId with a
different request is a `RunConflict`. Each starter turns the outcome into its own answer: an HTTP status
(`starters.runs_api`), or a queue message consumed or dead-lettered (`starters.queue_starter`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from typing import Any

import azure.durable_functions as df
import requests

from core.errors import ValidationError
from core.job_types import job_type_for_orchestrator, registered_job_types
from core.protocol import CANCEL_EVENT, LIVE_RUNTIMES, RunInput
from core.run_record import run_from_instance
from core.run_request import RUN_ID, RunRequest, parse_run_request
from core.status import TERMINAL, ErrorCode, RunStatus
from platforms.http import PlatformError
from platforms.registry import client_for, connections, get_connection
from starters.durable_private import rpc_base_url
from starters.instance_ids import IdTaken, chain_with_step_id, claim, read_instance

log = logging.getLogger("runbridge.start")


class RunConflict(ValidationError):
    """The runId already names a run started from a different request, or a chain or a chain's step."""

    def __init__(self, reason: str = "is already used by a different run request") -> None:
        super().__init__("runId", reason, ErrorCode.CONFLICT)


class TaskHubUnavailable(Exception):
    """The task hub's instance list could not be read: the caller may try again."""


@dataclass(frozen=True)
class InstancesPage:
    instances: list[dict[str, Any]]
    next_page: str | None


async def list_instances(client: df.DurableOrchestrationClient, params: dict[str, str],
                         page: str | None = None) -> InstancesPage:
    """One page of the task hub's instances (management API query `params`) and the next page's token.

    The SDK's get_status_by reads one page only (durable-functions.md §4), so this pages through the
    client's RPC endpoint with the continuation-token header itself.
    """
    base = rpc_base_url(client)
    headers = {"x-ms-continuation-token": page} if page else {}
    response = await asyncio.to_thread(requests.get, f"{base}instances/", params=params, headers=headers,
                                       timeout=30)
    if response.status_code != 200:
        raise TaskHubUnavailable(f"instance list answered HTTP {response.status_code}")
    return InstancesPage(response.json(), response.headers.get("x-ms-continuation-token"))


@dataclass(frozen=True)
class Started:
    """The run a start call answers with: `created` when this call started it, not when it existed."""

    request: RunRequest
    instance: dict[str, Any]
    created: bool

    @property
    def run_id(self) -> str:
        return self.request.run_id or ""

    @property
    def record(self) -> dict[str, Any]:
        return run_from_instance(self.instance)


class CancelOutcome(str, enum.Enum):
    """What a cancel request did."""

    REQUESTED = "requested"  # the cancel event was raised; the run cancels its remote job and ends Cancelled
    NOT_FOUND = "not_found"  # no run has this id
    ENDED = "ended"  # the run has already ended; nothing to cancel


@dataclass(frozen=True)
class Cancelled:
    outcome: CancelOutcome
    record: dict[str, Any] | None = None


def validate_run_request(body: object) -> RunRequest:
    """Check a request body against this app's job types and configured connections (ValidationError)."""
    return parse_run_request(body, known_job_types=registered_job_types(), known_connections=connections())


async def find_run(client: df.DurableOrchestrationClient, run_id: str, **flags: bool) -> dict[str, Any] | None:
    """The Durable status of a run as a dict, or None when no run has this id."""
    if not RUN_ID.fullmatch(run_id or ""):
        return None
    status = await client.get_status(run_id, **flags)
    if not status or job_type_for_orchestrator(status.name or "") is None:
        return None
    return status.to_json()


def stored_request(instance: dict[str, Any]) -> dict[str, Any] | None:
    """The run request an instance was started with (its input's `request`)."""
    try:
        return dict(RunInput.from_dict(instance.get("input")).request)
    except ValueError:
        return None


async def start_run(client: df.DurableOrchestrationClient, request: RunRequest) -> Started:
    """Start the run `request` names (its run_id must be set), or give back the run that has this id.

    Checks before any run exists: the id is free (or names this very run), it is not a chain's nor one of
    a chain's steps, and the platform takes the request. Atomic among concurrent starts of one id
    (starters.instance_ids). Raises RunConflict when the id names a run of a different request, a chain
    or a chain's step; ValidationError when the platform refuses the request (a job that does not
    exist...); PlatformError when the platform refuses the connection (its credential, its key);
    StartFailed when the task hub did not take it.
    """
    run_id = request.run_id
    if not run_id:
        raise ValueError("start_run needs a request with its run id chosen")
    orchestrator = registered_job_types()[request.job_type].orchestrator
    try:
        if await read_instance(client, run_id) is None:
            chain = await chain_with_step_id(client, run_id)
            if chain is not None:
                raise IdTaken(chain)
            await asyncio.to_thread(check_on_platform, request)
        claimed = await claim(client, orchestrator, run_id, RunInput.first(request.to_dict()).to_dict(),
                              lambda instance: stored_request(instance) == request.to_dict())
    except IdTaken as exc:
        if job_type_for_orchestrator(exc.orchestrator) is not None:
            raise RunConflict() from None
        raise RunConflict("is already the id of a chain or of one of its steps") from None
    return Started(request, claimed.instance, created=claimed.created)


def check_on_platform(request: RunRequest) -> None:
    """Check the request against the platform: the job exists and takes these inputs, the credential works.

    One rule for every platform: what a start can check cheaply it checks before any run exists, so a
    job that does not exist is a ValidationError and a credential or key the platform refuses is a
    PlatformError (AUTH): both answered at once, never a run that fails later. Only a platform that can't
    be reached now (transient) defers the check: the run is accepted and its submit checks again.
    """
    connection = get_connection(request.connection)
    if connection is None:
        raise ValidationError("connection", "is not a configured connection")
    try:
        client_for(connection).check_request(request)
    except PlatformError as exc:
        if not exc.transient:
            raise
        log.warning("could not check run %s against %s now (%s); submit will check", request.run_id,
                    request.connection, exc.code)


def preview_run(request: RunRequest) -> dict[str, Any]:
    """A dry run: check the request as a start does, then the remote call its submit would send, unsent.

    `request` has its run id chosen. Raises ValidationError as a start would, PlatformError when the
    platform cannot be read now (a start would defer its check; a preview needs the platform's answer).
    """
    connection = get_connection(request.connection)
    if connection is None:
        raise ValidationError("connection", "is not a configured connection")
    client = client_for(connection)
    client.check_request(request)
    return {"dryRun": True, "request": request.to_dict(), "remote": client.preview(request, request.run_id or "")}


async def cancel_run(client: df.DurableOrchestrationClient, run_id: str, reason: str = "requested") -> Cancelled:
    """Ask a live run to cancel its remote job; say so when there is no such run or it has ended."""
    instance = await find_run(client, run_id, show_input=True)
    if instance is None:
        return Cancelled(CancelOutcome.NOT_FOUND)
    record = run_from_instance(instance)
    if instance.get("runtimeStatus") not in LIVE_RUNTIMES or RunStatus(record["status"]) in TERMINAL:
        return Cancelled(CancelOutcome.ENDED, record)
    try:
        await client.raise_event(run_id, CANCEL_EVENT, {"reason": reason})
    except Exception:  # the task hub answers 410 once the instance has ended
        return Cancelled(CancelOutcome.ENDED)
    return Cancelled(CancelOutcome.REQUESTED, record)
