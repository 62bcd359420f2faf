"""The stack with every sink kind wired to local receivers: a signed webhook receiver, the Event Grid topic
simulator and, when Azurite runs here, a storage queue."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from platforms.notify import registry as sink_registry
from simulators.event_grid import EventGridTopic
from simulators.server import SimServer
from simulators.webhook_receiver import WebhookReceiver
from tests.e2e.conftest import ROOT, Stack, stack  # noqa: F401 - the fixture is used through pytest

SECRET = "whsec_" + base64.b64encode(b"runbridge-test-secret-32-bytes!!").decode()
SCHEMA = json.loads((ROOT / "starters" / "run-event.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def check_schema(events: list[dict[str, Any]]) -> None:
    """Every event validates against the schema the app ships."""
    for event in events:
        VALIDATOR.validate(event)


def dedupe(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Events by run (subject), repeats dropped by id, ordered by sequence: what a consumer does."""
    runs: dict[str, dict[str, dict[str, Any]]] = {}
    for event in events:
        runs.setdefault(event["subject"], {})[event["id"]] = event
    return {subject: sorted(by_id.values(), key=lambda e: e["sequence"]) for subject, by_id in runs.items()}


class Sinks:
    def __init__(self, webhook: WebhookReceiver, topic: EventGridTopic, topic_server: SimServer) -> None:
        self.webhook, self.topic, self.topic_server = webhook, topic, topic_server


@pytest.fixture
def sinks(monkeypatch) -> Iterator[Sinks]:
    """A webhook receiver and an Event Grid topic, configured as sinks `hook` and `grid` (set before the stack
    starts: list `sinks` before `stack` in a test's arguments)."""
    from devkit.clock import RealClock

    webhook = WebhookReceiver(SECRET).start()
    topic = EventGridTopic(RealClock())
    topic_server = SimServer(topic)
    url = topic_server.start()
    for key in [k for k in os.environ if k.upper().startswith("NOTIFY__")]:
        monkeypatch.delenv(key)
    settings = {"NOTIFY__hook__type": "webhook", "NOTIFY__hook__url": webhook.url, "NOTIFY__hook__secret": SECRET,
                "NOTIFY__grid__type": "eventgrid", "NOTIFY__grid__topicEndpoint": f"{url}/api/events"}
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    sink_registry.reset()
    try:
        yield Sinks(webhook, topic, topic_server)
    finally:
        webhook.stop()
        topic_server.stop()
        sink_registry.reset()
