"""An Event Grid custom topic in the CloudEvents 1.0 input schema, as a publisher sees it.

`POST /api/events` with `Content-Type: application/cloudevents-batch+json` (an array) or
`application/cloudevents+json` (one event) and `Authorization: Bearer <Entra ID token>`; 200 with an empty
body when the whole batch is taken; 400 `{"error": {"code": "BadRequest", "message"}}` naming the first event
that lacks a required attribute (specversion 1.0, id, source, type) or a batch above 1 MB; 401 without a
token. Nothing is delivered onwards: tests read what the topic took from `GET /_sim/events`.
"""

from __future__ import annotations

import json
from typing import Any

from devkit.clock import Clock
from simulators.routing import Request, Response, Route
from simulators.server import Platform

MAX_BATCH_BYTES = 1024 * 1024
REQUIRED = ("id", "source", "type")


class EventGridTopic(Platform):
    """One custom topic; keeps every event it accepted, in order."""

    name = "event_grid"

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.received: list[dict[str, Any]] = []
        self.tokens: list[str] = []

    def routes(self) -> list[Route]:
        return [Route("POST", "/api/events", "publish", self.publish)]

    def sim_routes(self) -> list[Route]:
        return [Route("GET", "/_sim/events", "_sim.events", lambda r: Response(200, {"events": self.received}),
                      auth=False)]

    def error_response(self, request: Request | None, status: int, message: str) -> Response:
        code = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 413: "RequestEntityTooLarge"}
        return Response(status, {"error": {"code": code.get(status, "InternalServerError"), "message": message}})

    def publish(self, request: Request) -> Response:
        kind = (request.header("content-type") or "").split(";")[0].strip().lower()
        if kind not in ("application/cloudevents-batch+json", "application/cloudevents+json"):
            return self.error_response(request, 400, "Content-Type must be application/cloudevents-batch+json "
                                                     "or application/cloudevents+json.")
        if request.body_error is not None or request.body is None:
            return self.error_response(request, 400, "The request body is not valid JSON.")
        events = request.body if kind.startswith("application/cloudevents-batch") else [request.body]
        if not isinstance(events, list) or not events:
            return self.error_response(request, 400, "A batch must be a non-empty JSON array of CloudEvents.")
        if len(json.dumps(events)) > MAX_BATCH_BYTES:
            return self.error_response(request, 413, "The batch is larger than 1 MB.")
        for index, event in enumerate(events):
            missing = [a for a in REQUIRED if not isinstance(event, dict) or not event.get(a)]
            if missing or event.get("specversion") != "1.0":
                what = ", ".join(missing) or "specversion 1.0"
                return self.error_response(request, 400, f"Event {index} lacks the required attribute {what}.")
        _, _, token = (request.header("authorization") or "").partition(" ")
        self.tokens.append(token)
        self.received.extend(events)
        return Response(200, None)

    def reset(self) -> None:
        self.received.clear()
        self.tokens.clear()

    def stats(self) -> dict[str, Any]:
        return {"remoteJobsCreated": 0, "runningNow": 0, "eventsReceived": len(self.received)}


def create(clock: Clock, **options: Any) -> EventGridTopic:
    return EventGridTopic(clock)
