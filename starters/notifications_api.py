"""The notification sinks' API: `POST /api/notifications/{name}/test` sends a `runbridge.test` event to one sink.

The connection test's sibling: it tells an operator that the sink's settings, identity and receiver work,
answering with what the sink replied. Sinks are app settings (core/sinks.py); a request never names a URL.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone

import azure.durable_functions as df
import azure.functions as func

from core.cloud_events import source_for, test_event
from platforms.notify.registry import get_sink, send
from starters.responses import error_response, json_response

bp = df.Blueprint()


@bp.route(route="notifications/{name}/test", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def api_test_notification(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/notifications/{name}/test: one `runbridge.test` event to the sink, and the sink's reply."""
    sink = get_sink(req.route_params.get("name", ""))
    if sink is None:
        return error_response(404, "NotFound", "No notification sink has this name.", "name")
    event = test_event(sink.name, f"test:{uuid.uuid4().hex}", datetime.now(timezone.utc).isoformat(),
                       source_for(client._orchestration_bindings.task_hub_name))
    started = time.monotonic()
    reply = await asyncio.to_thread(send, sink, [event])
    return json_response(200, {"sink": sink.name, "type": sink.type.value, "eventId": event["id"],
                               "latencyMs": round((time.monotonic() - started) * 1000), **reply.to_dict()})
