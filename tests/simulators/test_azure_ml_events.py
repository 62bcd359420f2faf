"""Azure ML simulator's Event Grid system topic: the handshake, the events' schema, at-least-once, faults.

A tiny webhook on loopback plays the subscriber. On the virtual clock the publisher holds time at each status
change until its events are out, so `_run_to` advances in steps as a host would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from simulators.azure_ml import WORKSPACE_ID, create
from simulators.azure_ml.events import RUN_COMPLETED, STATUS_CHANGED
from simulators.faults import FaultInjector
from simulators.server import SimServer
from tests.simulators.conftest import Workspace


class Subscriber:
    """Answers the validation handshake (unless `refuse`), records notifications with their headers."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.kinds: list[str] = []
        self.refuse = False
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                kind = self.headers.get("aeg-event-type", "")
                subscriber.kinds.append(kind)
                answer: Any = None
                if kind == "SubscriptionValidation" and not subscriber.refuse:
                    answer = {"validationResponse": body[0]["data"]["validationCode"]}
                elif kind == "Notification":
                    subscriber.events.extend(body)
                payload = json.dumps(answer).encode() if answer else b""
                self.send_response(400 if subscriber.refuse else 200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()

    def statuses(self, job: str) -> list[str]:
        return [e["data"]["runStatus"] for e in self.events
                if e["eventType"] == STATUS_CHANGED and e["data"]["runId"] == job]


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    sub = Subscriber()
    yield sub
    sub.server.shutdown()
    sub.server.server_close()


@pytest.fixture
def events_ws(clock, http, subscriber) -> Iterator[Any]:
    servers: list[SimServer] = []

    def make(**options: Any) -> Workspace:
        server = SimServer(create(clock, event_grid_webhook=subscriber.url, **options), faults=FaultInjector())
        servers.append(server)
        server.start()
        return Workspace(server, http)

    yield make
    for server in servers:
        server.stop()


def _run_to(clock, target: datetime, settle: float = 0.05) -> None:
    """Move time to `target` as a host does (each jump may stop at a hold), then let deliveries land."""
    deadline = time.monotonic() + 10
    while clock.advance_to(target) < target:
        assert time.monotonic() < deadline, "time stayed held"
        time.sleep(0.005)
    time.sleep(settle)


def test_events_follow_the_lifecycle_in_the_system_topic_schema_after_the_handshake(events_ws, subscriber, clock):
    ws = events_ws()
    created = clock.now()
    assert ws.clone("train-pipeline", "runbridge-a1").status_code == 201
    _run_to(clock, created + timedelta(seconds=1400))
    assert subscriber.kinds[0] == "SubscriptionValidation"
    assert set(subscriber.kinds[1:]) == {"Notification"}
    assert subscriber.statuses("runbridge-a1") == ["NotStarted", "Starting", "Queued", "Running", "Finalizing",
                                                   "Completed"]
    completed = [e for e in subscriber.events if e["eventType"] == RUN_COMPLETED]
    assert len(completed) == 1 and "runStatus" not in completed[0]["data"]
    event = subscriber.events[-2]
    data = event["data"]
    assert event["topic"] == WORKSPACE_ID
    assert event["subject"] == f"experiments/{data['experimentId']}/runs/runbridge-a1"
    assert set(data) == {"experimentId", "experimentName", "runId", "runType", "runTags", "runProperties",
                         "runStatus"}
    assert {"id", "eventTime", "dataVersion", "metadataVersion"} <= set(event)
    # each event went out at the moment of its change: the clock was held for it
    assert event["eventTime"].startswith((created + timedelta(seconds=1360)).strftime("%Y-%m-%dT%H:%M:%S"))
    stats = ws.stats()
    assert stats["eventsByJob"]["runbridge-a1"]["sent"] == 7
    assert "runbridge-a1" not in stats["statusReadsByJob"]


def test_no_event_goes_out_before_the_subscription_is_validated(events_ws, subscriber, clock):
    subscriber.refuse = True
    ws = events_ws()
    created = clock.now()
    ws.clone("train-pipeline", "runbridge-a2")
    _run_to(clock, created + timedelta(seconds=15))
    assert subscriber.events == [] and "Notification" not in subscriber.kinds
    subscriber.refuse = False
    _run_to(clock, created + timedelta(seconds=200))  # retried on Event Grid's schedule, then delivered
    assert {"NotStarted", "Starting", "Queued"} <= set(subscriber.statuses("runbridge-a2"))  # in any order


def test_fault_options_drop_after_and_duplicate_are_counted(events_ws, subscriber, clock, http):
    ws = events_ws(event_drop_after=1, event_duplicate=1.0)
    created = clock.now()
    ws.clone("train-pipeline", "runbridge-a3")
    ws.get("runbridge-a3")
    _run_to(clock, created + timedelta(seconds=1400))
    assert subscriber.statuses("runbridge-a3") == ["NotStarted", "NotStarted"]
    counts = ws.stats()["eventsByJob"]["runbridge-a3"]
    assert counts == {"sent": 2, "duplicated": 1, "dropped": 6}
    assert ws.stats()["statusReadsByJob"]["runbridge-a3"] == 1


def test_bad_fault_options_are_refused(clock):
    with pytest.raises(ValueError, match="event_drop"):
        create(clock, event_drop=2)
    with pytest.raises(TypeError, match="unknown azure_ml option"):
        create(clock, evnt_drop=0.1)



def test_the_command_line_options_subscribe_a_webhook_with_faults(clock):
    from simulators.__main__ import parse_options
    from simulators.registry import create_server

    options = parse_options(["event_grid_webhook=http://127.0.0.1:9/hook", "event_drop=0.2", "event_drop_after=1"])
    server = create_server("azure_ml", clock, **options)
    publisher = server.platform.publisher
    assert publisher.webhook == "http://127.0.0.1:9/hook"
    assert (publisher.faults.drop, publisher.faults.drop_after) == (0.2, 1)
    assert create_server("azure_ml", clock).platform.publisher is None  # no subscriber: no events, no holds


def test_a_delayed_event_arrives_late_with_its_own_time_and_a_reordered_one_after_a_later_event(
        events_ws, subscriber, clock):
    ws = events_ws(event_delay=1.0, event_delay_seconds=30)
    created = clock.now()
    ws.clone("train-pipeline", "runbridge-a4")
    _run_to(clock, created + timedelta(seconds=25))
    assert subscriber.statuses("runbridge-a4") == []  # NotStarted (0 s) and Starting (10 s) are held 30 s
    _run_to(clock, created + timedelta(seconds=45))
    assert subscriber.statuses("runbridge-a4") == ["NotStarted", "Starting"]
    assert subscriber.events[0]["eventTime"].startswith(created.strftime("%Y-%m-%dT%H:%M:%S"))



def test_a_reordered_event_goes_out_after_a_later_one(events_ws, subscriber, clock):
    ws = events_ws(event_reorder=0.5, event_seed=3, event_delay_seconds=600)
    created = clock.now()
    ws.clone("train-pipeline", "runbridge-a5")
    _run_to(clock, created + timedelta(seconds=2000))
    got = subscriber.statuses("runbridge-a5")
    lifecycle = ["NotStarted", "Starting", "Queued", "Running", "Finalizing", "Completed"]
    assert sorted(got) == sorted(lifecycle) and got != lifecycle, got
    assert ws.stats()["eventsByJob"]["runbridge-a5"]["reordered"] >= 1
