"""Azure ML runs woken by the workspace's Event Grid events: devhost's webhook route, the app's trigger, the
simulator's system topic, on one virtual clock, with a function key set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests

from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor
from devkit.clock import VirtualClock
from platforms import registry
from simulators.azure_ml import WORKSPACE_ID
from simulators.embedded import start_simulation
from starters import azureml_events
from tests.e2e.conftest import EPOCH, ROOT, train_request

KEY = "events-test-key"
HOOK = "/runtime/webhooks/eventgrid?functionName=azureml_run_events"


class EventStack:
    def __init__(self, host: DevHost, front: HttpFrontDoor, simulation: Any) -> None:
        self.host, self.front, self.simulation = host, front, simulation
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["x-functions-key"] = KEY
        self.hook = f"{front.base_url}{HOOK}"

    def run(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"{self.front.base_url}/api/runs", json=body, timeout=30)
        assert response.status_code in (200, 201, 202), response.text
        self.host.wait_for(body["runId"], timeout=60)
        return self.http.get(f"{self.front.base_url}/api/runs/{body['runId']}", timeout=30).json()

    def post_events(self, events: list[dict[str, Any]], kind: str = "Notification", **kw: Any) -> requests.Response:
        return self.http.post(self.hook, json=events, headers={"aeg-event-type": kind}, timeout=30, **kw)

    def platform(self) -> Any:
        return self.simulation.servers["azure_ml"].platform


@pytest.fixture
def events_stack(tmp_path, monkeypatch) -> Iterator[EventStack]:
    for key in [k for k in os.environ if k.upper().startswith("CONNECTIONS__")]:
        monkeypatch.delenv(key)
    clock = VirtualClock(EPOCH)
    environ: dict[str, str] = {}
    simulation = start_simulation(clock, environ, ports={"azure_ml": 0}, only=("azure_ml",), events=True)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    registry.reset()
    host = DevHost(ROOT, db_path=str(tmp_path / "devhost.sqlite"), clock=clock)
    front = HttpFrontDoor(host, port=0, function_key=KEY)
    host.start()
    front.start()
    simulation.subscribe_events(f"{front.base_url}{HOOK}&code={KEY}")
    try:
        yield EventStack(host, front, simulation)
    finally:
        simulation.stop()  # first: no event is in flight to a host that is going away
        front.stop()
        host.stop()
        registry.reset()


def _event(run_id: str, status: str, topic: str = WORKSPACE_ID) -> dict[str, Any]:
    return {"id": f"forged-{status}", "topic": topic, "subject": f"experiments/x/runs/runbridge-{run_id}",
            "eventType": "Microsoft.MachineLearningServices.RunStatusChanged", "eventTime": "2026-03-01T00:00:00Z",
            "data": {"runId": f"runbridge-{run_id}", "runStatus": status}, "dataVersion": "2", "metadataVersion": "1"}


def _settle(stack: EventStack) -> None:
    """Let everything runnable before the time limit run, deliveries in flight included."""
    stack.host.wait_idle()
    time.sleep(0.2)
    stack.host.wait_idle()


def test_the_route_answers_the_handshake_and_wants_the_key(events_stack):
    hook = events_stack.hook
    validation = [{"id": "v", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "subject": "",
                   "topic": WORKSPACE_ID, "data": {"validationCode": "CODE-1"}, "eventTime": "2026-03-01T00:00:00Z",
                   "dataVersion": "2", "metadataVersion": "1"}]
    assert events_stack.post_events(validation, "SubscriptionValidation").json() == {"validationResponse": "CODE-1"}
    anonymous = requests.post(hook, json=validation, headers={"aeg-event-type": "SubscriptionValidation"}, timeout=10)
    assert anonymous.status_code == 401
    other = events_stack.http.post(hook.replace("azureml_run_events", "nope"), json=validation,
                                   headers={"aeg-event-type": "Notification"}, timeout=10)
    assert other.status_code == 404
    assert events_stack.post_events(validation, "Bogus").status_code == 400


def test_a_run_with_events_ends_with_few_reads_and_notices_the_end_at_once(events_stack):
    run = events_stack.run(train_request("ev-1"))
    assert run["status"] == "Success" and run["outputs"]["model_uri"]
    platform = events_stack.platform()
    job = platform.jobs["runbridge-ev-1"]
    stats = platform.stats()
    assert stats["validated"] is True
    assert stats["eventsByJob"]["runbridge-ev-1"]["sent"] >= 6  # six statuses (RunCompleted may still be on its way)
    reads = stats["statusReadsByJob"]["runbridge-ev-1"]
    # without events this 22-minute job takes ~30 reads; with them one per event plus the first few
    assert reads <= 12, (reads, stats, dict(azureml_events.IGNORED), dict(azureml_events.WOKEN))
    row = events_stack.host.get("ev-1")
    shown = datetime.fromisoformat(row.updated.replace("Z", "+00:00"))
    lag = (shown - job.ended_at(events_stack.host.clock.now())).total_seconds()
    assert 0 <= lag <= 10, lag


def test_forged_and_foreign_events_are_ignored_or_cost_one_read_never_a_wrong_status(events_stack):
    before = dict(azureml_events.IGNORED)
    events_stack.host.set_time_limit(EPOCH.replace(minute=5))  # the job is Running; time stops there
    try:
        response = events_stack.http.post(f"{events_stack.front.base_url}/api/runs", json=train_request("ev-2"),
                                          timeout=30)
        assert response.status_code in (200, 202), response.text  # 200: a start the task hub took, then showed
        deadline = time.monotonic() + 30
        while events_stack.host.clock.now() < EPOCH.replace(minute=5) and time.monotonic() < deadline:
            time.sleep(0.02)
        _settle(events_stack)
        reads = events_stack.platform().status_reads["runbridge-ev-2"]
        foreign = [_event("ev-2", "Completed", topic=WORKSPACE_ID.replace("sim-ws", "other-ws")),
                   _event("no-such-run", "Completed"), {**_event("ev-2", "Completed"), "eventType": "Other.Type"},
                   {**_event("ev-2", "Completed"), "data": {"runId": "someone-elses-job"}}]
        assert events_stack.post_events(foreign).status_code == 202
        _settle(events_stack)
        assert events_stack.platform().status_reads["runbridge-ev-2"] == reads  # no read for any of them
        ignored = {k: v - before.get(k, 0) for k, v in azureml_events.IGNORED.items() if v != before.get(k, 0)}
        assert ignored == {"topic is not the run's workspace": 1, "no such run": 1, "event type": 1,
                           "not a runbridge job": 1}
        assert events_stack.post_events([_event("ev-2", "Completed")]).status_code == 202  # a lie, in topic
        deadline = time.monotonic() + 10
        while events_stack.platform().status_reads["runbridge-ev-2"] == reads and time.monotonic() < deadline:
            time.sleep(0.02)
        _settle(events_stack)
        assert events_stack.platform().status_reads["runbridge-ev-2"] == reads + 1  # one read, at once
        status = events_stack.http.get(f"{events_stack.front.base_url}/api/runs/ev-2", timeout=10).json()
        assert status["status"] == "Running"  # the poll decided, not the event
    finally:
        events_stack.host.set_time_limit(None)
    assert events_stack.run(train_request("ev-2"))["status"] == "Success"
