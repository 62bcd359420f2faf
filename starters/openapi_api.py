"""The OpenAPI 3 document of the HTTP API (starters/openapi.json), served as it is kept in the repo.

tests/e2e/test_openapi.py keeps it true: every route the app registers is in it with its methods, and the
answers of each route validate against its response schemas.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

DOCUMENT = Path(__file__).with_name("openapi.json")
EVENT_SCHEMA = Path(__file__).with_name("run-event.schema.json")  # referenced by the document (RunEvent)
bp = df.Blueprint()


@lru_cache(maxsize=1)
def _document() -> bytes:
    return DOCUMENT.read_bytes()


@bp.route(route="openapi.json", methods=["GET"])
async def api_openapi(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/openapi.json: the API's OpenAPI 3 document."""
    return func.HttpResponse(_document(), status_code=200, mimetype="application/json")


@lru_cache(maxsize=1)
def _event_schema() -> bytes:
    return EVENT_SCHEMA.read_bytes()


@bp.route(route="run-event.schema.json", methods=["GET"])
async def api_run_event_schema(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/run-event.schema.json: the JSON Schema of the events runbridge pushes to its sinks."""
    return func.HttpResponse(_event_schema(), status_code=200, mimetype="application/schema+json")
