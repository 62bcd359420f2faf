"""Event Grid triggers, served where the Functions host serves them:
`POST /runtime/webhooks/eventgrid?functionName=<name>`.

As the host's Event Grid extension does: the `aeg-event-type` header says what a request is. A
`SubscriptionValidation` request is answered by the host itself, `200 {"validationResponse": <validationCode>}`,
without calling the function (an app with an Event Grid trigger never sees the handshake); a `Notification`
carries a JSON array of events (EventGridEvent or CloudEvents schema) and the function is called once per
event with the worker's binding value (`func.EventGridEvent` / `func.CloudEvent`, decoded by azure.functions'
own converter), answering 202 when every call succeeded and 500 otherwise, so Event Grid delivers again;
`Unsubscribe` is acknowledged with 202. In Azure the route needs the `eventgrid_extension` system key; here
the front door asks for the function key when one is set (`code=` or `x-functions-key`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

from .app_loader import FunctionInfo

log = logging.getLogger("devhost.eventgrid")
WEBHOOK_PATH = "/runtime/webhooks/eventgrid"
Answer = tuple[int, dict[str, str], bytes]


def serve_event_grid(functions: dict[str, FunctionInfo], call: Callable[[FunctionInfo, dict[str, Any]], Any],
                     query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
    """One request to the Event Grid webhook route (the key was checked by the caller)."""
    name = query.get("functionName", "")
    function = next((f for key, f in functions.items() if key.casefold() == name.casefold()), None)
    if function is None:
        return _answer(404, {"Message": f"No Event Grid trigger function named '{name}'."})
    kind = headers.get("aeg-event-type", "")
    if kind == "Unsubscribe":
        return 202, {}, b""
    if kind not in ("SubscriptionValidation", "Notification"):
        return _answer(400, {"Message": "The aeg-event-type header must be SubscriptionValidation, Notification "
                                        "or Unsubscribe."})
    try:
        events = json.loads(body or b"null")
    except ValueError:
        return _answer(400, {"Message": "The body must be a JSON array of events."})
    if isinstance(events, dict):
        events = [events]  # CloudEvents in binary or structured single mode
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return _answer(400, {"Message": "The body must be a JSON array of events."})
    if kind == "SubscriptionValidation":
        code = next((e.get("data", {}).get("validationCode") for e in events if isinstance(e.get("data"), dict)),
                    None)
        if not isinstance(code, str):
            return _answer(400, {"Message": "A SubscriptionValidation request carries data.validationCode."})
        log.info("Event Grid subscription to %s validated", function.name)
        return _answer(200, {"validationResponse": code})
    failed = 0
    for event in events:
        value = EventGridEventInConverter.decode(meta.Datum(type="json", value=json.dumps(event)),
                                                 trigger_metadata=None)
        try:
            call(function, {function.trigger["name"]: value})
        except Exception:
            failed += 1
            log.exception("Event Grid function %s failed on event %s", function.name, event.get("id"))
    if failed:
        return _answer(500, {"Message": f"{failed} of {len(events)} events failed; Event Grid will retry."})
    return 202, {}, b""


def _answer(status: int, payload: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()
