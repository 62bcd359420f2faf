"""Activities that carry run events from a run to its sinks (orchestrators/notify.py).

- `publish_events`: the run's hand-off. It fills in the event source and gives the events to the run's
  delivery orchestration (`<owner>:events`): raised to it while it lives, or started with them. It answers at
  once; delivering is the delivery orchestration's work, so a slow sink never slows the run.
- `deliver_events`: one delivery round: each sink gets the events it still owes, in order.
- `park_events`: events a sink could not take for 24 hours go to `runbridge-events-undelivered`.
None of them raises: a failure is data the orchestrator reads.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from core.cloud_events import delivery_instance, source_for, with_source
from core.protocol import LIVE_RUNTIMES
from platforms.notify.registry import park_undelivered, send, sinks

log = logging.getLogger("runbridge.notify")
bp = df.Blueprint()
DELIVERY_ORCHESTRATOR = "deliver_run_events"
EVENTS_EVENT = "events"


@bp.activity_trigger(input_name="payload", activity="publish_events")
@bp.durable_client_input(client_name="client")
async def publish_events(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Hand a run's new events to its delivery orchestration; `{"ok": False}` when the task hub did not take them.

    When no sink takes them they are handed on only to a delivery under way (sinks changed while the run
    lived), so it sees the run's final event and ends."""
    notify = list(payload.get("notify") or [])
    events = [with_source(e, source_for(client._orchestration_bindings.task_hub_name)) for e in payload["events"]]
    wanted = any(s.takes(e["type"], notify) for s in sinks().values() for e in events)
    instance = delivery_instance(payload["owner"])
    message = {"owner": payload["owner"], "notify": notify, "events": events}
    try:
        for _ in range(3):  # the instance may end or start between the look and the call
            status = await client.get_status(instance)
            runtime = getattr(status, "runtime_status", None)
            live = status is not None and runtime is not None and runtime.value in LIVE_RUNTIMES
            if not wanted and not live:
                return {"ok": True, "sinks": 0}  # no sink takes these and no delivery is under way
            try:
                if live:
                    await client.raise_event(instance, EVENTS_EVENT, message)
                else:
                    await client.start_new(DELIVERY_ORCHESTRATOR, instance, message)
                return {"ok": True, "sinks": len(sinks())}
            except Exception as exc:  # 410: it just ended; 409: another start won
                log.info("hand-off to %s retried: %s", instance, type(exc).__name__)
    except Exception as exc:
        log.warning("events of %s not handed off: %s", payload["owner"], type(exc).__name__)
    return {"ok": False}


@bp.activity_trigger(input_name="payload", activity="deliver_events")
def deliver_events(payload: dict[str, Any]) -> dict[str, Any]:
    """Give each sink the events it owes (sequence above its progress and of a type it takes), in order.

    Answers the new progress per sink (the last sequence it has) and, per failing sink, why it stopped.
    """
    events = sorted(payload["events"], key=lambda e: e["sequence"])
    notify = list(payload.get("notify") or [])
    before = dict(payload.get("progress") or {})
    progress: dict[str, int] = {}
    failures: dict[str, dict[str, Any]] = {}
    last = events[-1]["sequence"] if events else 0
    for sink in sinks().values():
        done = before.get(sink.name, 0)
        owed = [e for e in events if e["sequence"] > done and sink.takes(e["type"], notify)]
        reply = send(sink, owed) if owed else None
        if reply is None or reply.ok:
            progress[sink.name] = max(done, last)
            continue
        delivered = owed[:reply.delivered]
        stop = owed[reply.delivered]["sequence"]
        progress[sink.name] = max([done, *(e["sequence"] for e in delivered), stop - 1])
        failures[sink.name] = reply.to_dict()
        log.warning("sink %s did not take event %s: %s", sink.name, owed[reply.delivered]["id"], reply.error)
    return {"progress": progress, "failures": failures}


@bp.activity_trigger(input_name="payload", activity="park_events")
def park_events(payload: dict[str, Any]) -> dict[str, Any]:
    """Put a sink's owed events on `runbridge-events-undelivered` after its 24 hours of retries."""
    queued = park_undelivered(payload["sink"], payload["events"], payload.get("reason") or "")
    return {"queued": queued}
