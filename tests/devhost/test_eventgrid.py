"""devhost's Event Grid route as the Functions host's extension serves it (devhost/eventgrid.py), without a host."""

from __future__ import annotations

import json

import azure.functions as func

from devhost.app_loader import FunctionInfo
from devhost.eventgrid import serve_event_grid

EVENT = {"id": "e1", "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/"
         "workspaces/w", "subject": "experiments/x/runs/r", "eventType": "Microsoft.MachineLearningServices."
         "RunStatusChanged", "eventTime": "2026-03-01T00:00:00Z", "data": {"runId": "r", "runStatus": "Running"},
         "dataVersion": "2", "metadataVersion": "1"}


def _serve(kind: str, body: object, fail: bool = False):
    seen: list[object] = []

    def call(function: FunctionInfo, kwargs: dict) -> None:
        seen.append(kwargs["event"])
        if fail:
            raise RuntimeError("boom")

    function = FunctionInfo("on_event", {"type": "eventGridTrigger", "name": "event"}, [], lambda event: None)
    answer = serve_event_grid({"on_event": function}, call, {"functionName": "ON_EVENT"},
                              {"aeg-event-type": kind}, json.dumps(body).encode())
    return answer, seen


def test_each_event_of_a_notification_is_one_call_with_the_workers_binding_value():
    (status, _, _), seen = _serve("Notification", [EVENT, {**EVENT, "id": "e2"}])
    assert status == 202
    assert [type(e) for e in seen] == [func.EventGridEvent, func.EventGridEvent]
    first = seen[0]
    assert (first.id, first.topic, first.subject, first.event_type) == (
        "e1", EVENT["topic"], "experiments/x/runs/r", EVENT["eventType"])
    assert first.get_json() == EVENT["data"] and first.event_time is not None


def test_a_failing_call_answers_500_so_event_grid_delivers_again():
    (status, _, body), seen = _serve("Notification", [EVENT], fail=True)
    assert status == 500 and len(seen) == 1 and b"retry" in body


def test_the_handshake_and_unsubscribe_never_reach_the_function():
    validation = [{**EVENT, "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                   "data": {"validationCode": "C0DE"}}]
    (status, _, body), seen = _serve("SubscriptionValidation", validation)
    assert (status, json.loads(body), seen) == (200, {"validationResponse": "C0DE"}, [])
    (status, _, _), seen = _serve("Unsubscribe", [])
    assert (status, seen) == (202, [])
    (status, _, _), seen = _serve("Notification", EVENT)
    assert len(seen) == 1 and status == 202  # one object, not an array: a single event
    (status, _, _), _ = _serve("Notification", "text")
    assert status == 400
