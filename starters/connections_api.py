"""Discovery: the configured connections, and what each can run, so a scheduler can import jobs."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from core.connections import CONNECTION_TYPE_FOR_JOB_TYPE, Connection
from core.job_types import registered_job_types
from core.page_tokens import derive_key, read_page, sign_page
from platforms.base import JobInfo
from platforms.http import PlatformError
from platforms.registry import client_for, connections, get_connection
from starters.platform_errors import hint_for, platform_error_response
from starters.responses import error_response, json_response

log = logging.getLogger("runbridge.api")
bp = df.Blueprint()
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
MAX_PLATFORM_PAGES = 25  # platform pages read for one of ours, so one request stays bounded
MAX_PLATFORM_CALLS = 50  # platform calls begun for one of ours (a page in progress is finished)


def _job_types_of(connection_type: str) -> list[str]:
    return sorted(j for j in registered_job_types()
                  if CONNECTION_TYPE_FOR_JOB_TYPE[j].value == connection_type)


@bp.route(route="connections", methods=["GET"])
async def api_list_connections(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/connections: each configured connection's name, type and job types; never a secret."""
    listed = []
    for connection in sorted(connections().values(), key=lambda c: c.name.casefold()):
        view = connection.public_view()
        listed.append({"name": view["name"], "type": view["type"], "jobTypes": _job_types_of(view["type"])})
    return json_response(200, {"connections": listed})


PAGE_KEY_SETTING = "RUNBRIDGE_PAGE_TOKEN_KEY"
_process_key = secrets.token_bytes(32)


def _page_key() -> bytes:
    """The app's key for discovery page tokens (core/page_tokens.py): from the RUNBRIDGE_PAGE_TOKEN_KEY
    setting, else from the storage connection string's account key (one per app, shared by its instances),
    else made at start-up (tokens then hold on the instance that gave them: docs/operations.md)."""
    configured = os.environ.get(PAGE_KEY_SETTING)
    if configured:
        return derive_key(configured)
    storage = os.environ.get("AzureWebJobsStorage") or ""  # noqa: SIM112 (the Functions setting's name)
    if "AccountKey=" in storage:
        return derive_key(storage)
    return _process_key


def _collect(connection, page_token: str | None, size: int) -> tuple[list[JobInfo], str | None]:
    """Follow the platform's own paging until `size` jobs or the end, bounded by MAX_PLATFORM_PAGES and
    MAX_PLATFORM_CALLS (a page may cost a call per job: Abacus describes each pipeline); the rest is on the
    next page of ours, so a large pageSize never fans out without bound."""
    client = client_for(connection)
    jobs: list[JobInfo] = []
    token = page_token
    calls = 0
    for _ in range(MAX_PLATFORM_PAGES):
        page = client.list_jobs(token)
        jobs.extend(page.jobs)
        token = page.next_page
        calls += page.calls
        if not token or len(jobs) >= size or calls >= MAX_PLATFORM_CALLS:
            break
    return jobs, token


@bp.route(route="connections/{connection}/jobs", methods=["GET"])
async def api_list_jobs(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/connections/{connection}/jobs: runnable jobs with their parameters, one shape for all platforms."""
    connection = get_connection(req.route_params.get("connection", ""))
    if connection is None:
        return error_response(404, "NotFound", "No connection has this name.", "connection")
    try:
        size = int(req.params.get("pageSize") or DEFAULT_PAGE_SIZE)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        return error_response(400, "InvalidRequest", f"pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}.",
                              "pageSize")
    token = None
    if req.params.get("page"):
        token = read_page(_page_key(), connection.name, req.params["page"])
        if token is None:
            return error_response(400, "InvalidRequest", "page is not a token this API gave out.", "page")
    try:
        jobs, next_token = await asyncio.to_thread(_collect, connection, token, size)
    except PlatformError as exc:
        log.warning("discovery on %s failed: %s", connection.name, exc.code)
        return platform_error_response(connection, exc)
    return json_response(200, {"jobs": [j.to_dict() for j in jobs],
                               "nextPage": sign_page(_page_key(), connection.name, next_token) if next_token else None})


def _probe(connection: Connection) -> dict[str, Any]:
    """One cheap authenticated read on the platform, as the test result the API answers with."""
    started = time.monotonic()
    try:
        client_for(connection).probe()
    except PlatformError as exc:  # a credential that can't get a token is one too (platforms/auth.py)
        log.info("connection test of %s failed: %s", connection.name, exc.code)
        return {"ok": False, "connection": connection.name, "type": connection.type.value,
                "code": exc.code or exc.kind.value, "message": exc.message, "hint": hint_for(connection, exc)}
    return {"ok": True, "connection": connection.name, "type": connection.type.value,
            "latencyMs": round((time.monotonic() - started) * 1000)}


@bp.route(route="connections/{connection}/test", methods=["POST"])
async def api_test_connection(req: func.HttpRequest) -> func.HttpResponse:
    """POST /api/connections/{connection}/test: auth and reachability with one cheap read, and a hint on failure."""
    connection = get_connection(req.route_params.get("connection", ""))
    if connection is None:
        return error_response(404, "NotFound", "No connection has this name.", "connection")
    return json_response(200, await asyncio.to_thread(_probe, connection))
