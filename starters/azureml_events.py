"""The Event Grid trigger that wakes Azure ML runs when their job changes status.

The workspace's system topic (infra/README.md) delivers `RunStatusChanged` / `RunCompleted` events here. An
event about a job runbridge made (platforms/azure_ml/events.py), for a live `azureml_pipeline` run whose
connection has `events=eventgrid` and whose workspace (where its job lives: the coordinates the run captured
at submit) is the event's topic, raises the run's wake-up event;
the run then polls at once and the poll decides (orchestrators/poll_loop.py). The event's own status is never
believed, so a forged, stale, duplicated or out-of-order event costs at most one status read. Anything else is
ignored: one log line with the reason (`runbridge.events`, the metric to watch) and one count in `IGNORED`.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from core.connections import ConnectionType
from core.protocol import LIVE_RUNTIMES, WAKE_EVENT
from core.run_record import run_from_instance
from core.status import TERMINAL, RunStatus
from platforms.azure_ml.events import RunEvent, run_event_of, same_workspace
from platforms.registry import get_connection
from starters.start import find_run, stored_request

JOB_TYPE = "azureml_pipeline"
FUNCTION_NAME = "azureml_run_events"  # infra/ subscribes the workspaces' system topics to this function
log = logging.getLogger("runbridge.events")
bp = df.Blueprint()
IGNORED: Counter[str] = Counter()  # reason -> events ignored by this process
WOKEN: Counter[str] = Counter()  # events that woke a run, by event type


@bp.function_name(FUNCTION_NAME)
@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def azureml_run_events(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Wake the run an Azure ML run status event is about; ignore (and count) any other event."""
    found = run_event_of(event.event_type, event.topic, event.get_json())
    if isinstance(found, str):
        return _ignore(found, event)
    reason = await _wake(client, found, event)
    if reason is not None:
        _ignore(reason, event)


async def _wake(client: df.DurableOrchestrationClient, found: RunEvent, event: func.EventGridEvent) -> str | None:
    """Raise the wake-up on the run; the reason when the event is not for a live run of that workspace."""
    instance = await find_run(client, found.run_id, show_input=True)
    if instance is None:
        return "no such run"
    request = stored_request(instance) or {}
    if request.get("jobType") != JOB_TYPE:
        return "not an Azure ML run"
    connection = get_connection(str(request.get("connection") or ""))
    if connection is None or connection.type is not ConnectionType.AZURE_ML:
        return "connection gone"
    if connection.settings.get("events") != "eventgrid":
        return "events not wired on the connection"
    record = run_from_instance(instance)
    if instance.get("runtimeStatus") not in LIVE_RUNTIMES or RunStatus(record["status"]) in TERMINAL:
        return "run ended"
    # the workspace the run's job lives in: the coordinates it captured at submit, else the connection's
    if not same_workspace(found.topic, connection.at(record.get("remoteLocation") or {})):
        return "topic is not the run's workspace"
    wake: dict[str, Any] = {"eventType": event.event_type, "eventId": event.id, "remoteStatus": found.remote_status}
    try:
        await client.raise_event(found.run_id, WAKE_EVENT, wake)
    except Exception:  # the task hub answers 410 once the instance has ended
        return "run ended"
    WOKEN[event.event_type] += 1
    log.info("run %s woken by %s (%s)", found.run_id, event.event_type, str(found.remote_status)[:50])
    return None


def _ignore(reason: str, event: func.EventGridEvent) -> None:
    IGNORED[reason] += 1
    log.info("event ignored (%s): %s %s", reason, str(event.event_type)[:100], str(event.subject)[:200])
