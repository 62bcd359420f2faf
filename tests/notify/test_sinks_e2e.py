"""Run events end to end: runs on devhost and the simulators, events at a signed webhook and an Event Grid topic."""

from __future__ import annotations

import time

import pytest

from devhost.queue_service import QueueService
from simulators.foundry_agents import ECHO_AGENT
from tests.e2e.conftest import train_request

from .conftest import check_schema, dedupe


def agent_request(run_id: str, **extra) -> dict:
    return {"jobType": "foundry_agent", "connection": "foundry-sim", "job": ECHO_AGENT, "runId": run_id,
            "parameters": [{"name": "user_message", "value": "hi", "direction": "Input"},
                           {"name": "response", "direction": "Output"}], **extra}


def wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("timed out")


def statuses(events: list[dict]) -> list[tuple]:
    return [(e["type"].rsplit(".", 1)[1], e["data"].get("previousStatus"), e["data"]["status"]) for e in events]


def test_a_run_sends_every_status_change_to_the_webhook_and_the_topic_in_order(sinks, stack):
    assert stack.post_run(train_request("train-ev")).status_code == 202
    run = stack.wait_run("train-ev")
    assert run["status"] == "Success"
    hook = wait_for(lambda: (e := dedupe(sinks.webhook.events()).get("runs/train-ev")) and len(e) >= 4 and e)
    assert statuses(hook) == [("statusChanged", None, "Starting"), ("statusChanged", "Starting", "Running"),
                              ("outputsWritten", None, "Success"), ("statusChanged", "Running", "Success")]
    assert [e["sequence"] for e in hook] == [1, 2, 3, 4]
    assert [e["id"] for e in hook] == [f"train-ev:{n}" for n in (1, 2, 3, 4)]
    assert hook[-1]["data"]["run"] == run and hook[2]["data"]["outputs"] == run["outputs"]
    assert all(d["verified"] is None for d in sinks.webhook.deliveries), sinks.webhook.deliveries
    assert hook[0]["source"] == "runbridge/" + stack.host.task_hub
    grid = wait_for(lambda: (e := dedupe(sinks.topic.received).get("runs/train-ev")) and len(e) >= 4 and e)
    assert grid == hook
    assert set(sinks.topic.tokens) == {"devhost-local-token"}
    check_schema(sinks.webhook.events() + sinks.topic.received)


def test_a_wrong_signature_secret_shows_in_the_receivers_check(sinks, stack, monkeypatch):
    sinks.webhook.secret = "whsec_" + "QUJD" * 8  # the receiver holds another secret than runbridge signs with
    stack.post_run(agent_request("agent-ev"))
    stack.wait_run("agent-ev")
    wait_for(lambda: len(dedupe(sinks.webhook.events()).get("runs/agent-ev", [])) >= 3)
    assert {d["verified"] for d in sinks.webhook.deliveries} == {"no signature matches"}


def test_types_and_per_request_sinks_choose_what_goes_where(sinks, stack, monkeypatch):
    from platforms.notify import registry

    monkeypatch.setenv("NOTIFY__grid__types", "runbridge.run.outputsWritten")
    monkeypatch.setenv("NOTIFY__hook__perRequest", "true")
    registry.reset()
    stack.post_run(agent_request("quiet"))
    stack.post_run(agent_request("loud", notify=["HOOK"]))
    stack.wait_run("quiet"), stack.wait_run("loud")
    wait_for(lambda: len(dedupe(sinks.webhook.events()).get("runs/loud", [])) >= 4)
    wait_for(lambda: len(dedupe(sinks.topic.received)) >= 2)
    assert set(dedupe(sinks.webhook.events())) == {"runs/loud"}
    assert {e["type"] for e in sinks.topic.received} == {"runbridge.run.outputsWritten"}


def test_an_unknown_sink_in_notify_is_a_400_naming_the_field(sinks, stack):
    response = stack.post_run(agent_request("nope", notify=["hook", "nowhere"]))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "notify[1]"


def test_a_receiver_down_for_ten_simulated_minutes_gets_every_event_afterwards_in_order(sinks, stack):
    from datetime import timedelta

    from tests.e2e.conftest import EPOCH

    back = EPOCH + timedelta(minutes=10)
    sinks.webhook.outage = lambda: stack.clock.now() < back
    stack.post_run(train_request("outage"))
    run = stack.wait_run("outage")
    events = wait_for(lambda: (e := sinks.webhook.events()) and e[-1]["data"]["status"] == "Success"
                      and e[-1]["type"].endswith("statusChanged") and e)
    assert sinks.webhook.refused >= 2  # Starting and Running were refused while it was down
    first_seen = list(dict.fromkeys(e["id"] for e in events))
    assert first_seen == [f"outage:{n}" for n in range(1, 5)]  # every event, in order, none lost
    assert dedupe(events)["runs/outage"][-1]["data"]["run"] == run
    times = [d["event"]["time"] for d in sinks.webhook.deliveries]
    assert times == sorted(times)
    # the Event Grid topic was up all along: it got each event at once
    assert [e["id"] for e in sinks.topic.received] == first_seen


def queue_events(connection_string: str, queue: str) -> list[dict]:
    """The events on a storage queue, read as another program would (azure-storage-queue, base64 bodies)."""
    import base64
    import json

    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.queue import QueueClient

    from devhost.azure_queues import API_VERSION

    client = QueueClient.from_connection_string(connection_string, queue, api_version=API_VERSION)
    with client:
        try:
            return [json.loads(base64.b64decode(m.content)) for m in client.peek_messages(max_messages=32)]
        except ResourceNotFoundError:
            return []


@pytest.fixture(params=["embedded", "azurite"])
def storage(request, stack) -> str:
    """A storage account's connection string: devhost's embedded queues behind their Queue service endpoint,
    or Azurite."""
    if request.param == "azurite":
        return request.getfixturevalue("azurite")
    service = QueueService(stack.host).start()
    request.addfinalizer(service.stop)
    return service.connection_string


def test_a_queue_sink_gets_the_runs_events(sinks, stack, storage, monkeypatch):
    from platforms.notify import registry

    monkeypatch.setenv("EVENTS_STORAGE", storage)
    monkeypatch.setenv("NOTIFY__q__type", "queue")
    monkeypatch.setenv("NOTIFY__q__connection", "EVENTS_STORAGE")
    monkeypatch.setenv("NOTIFY__q__queue", "scheduler-events")
    registry.reset()
    stack.post_run(agent_request("queued-ev"))
    stack.wait_run("queued-ev")
    events = wait_for(lambda: (e := queue_events(storage, "scheduler-events")) and len(e) >= 4 and e)
    assert [e["id"] for e in events] == [f"queued-ev:{n}" for n in range(1, 5)]
    check_schema(events)


def test_events_a_sink_refuses_for_24_hours_go_to_the_undelivered_queue_and_the_timeline(sinks, stack, storage,
                                                                                           monkeypatch):
    import requests

    monkeypatch.setenv("AzureWebJobsStorage", storage)  # the app's storage, where the undelivered queue lives
    sinks.webhook.down()
    stack.post_run(agent_request("lost-hook"))
    stack.wait_run("lost-hook")
    parked = wait_for(lambda: (e := queue_events(storage, "runbridge-events-undelivered")) and len(e) >= 4 and e,
                      timeout=60)
    assert [p["event"]["id"] for p in parked] == [f"lost-hook:{n}" for n in range(1, 5)]
    assert {p["sink"] for p in parked} == {"hook"} and "503" in parked[0]["reason"]
    assert len(dedupe(sinks.topic.received)["runs/lost-hook"]) == 4  # the other sink was not held back
    assert stack.host.wait_for("lost-hook:events", timeout=30).status == "Completed"
    timeline = requests.get(f"{stack.api}/runs/lost-hook/history", timeout=30).json()["timeline"]
    notes = [p for p in timeline if p["kind"] == "events_undelivered"]
    assert len(notes) == 1 and "lost-hook:1" in notes[0]["label"] and "hook after 24 hours" in notes[0]["label"]


def test_a_chain_sends_its_start_and_end_with_its_steps_and_each_step_its_run_events(sinks, stack):
    import requests

    steps = [{"name": name, **{k: v for k, v in agent_request("x").items() if k != "runId"}}
             for name in ("first", "second")]
    assert requests.post(f"{stack.api}/chains", json={"chainId": "chain-ev", "steps": steps},
                         timeout=30).status_code == 202
    stack.host.wait_for("chain-ev", 60)
    chain = wait_for(lambda: (e := dedupe(sinks.webhook.events()).get("chains/chain-ev")) and len(e) >= 2 and e)
    assert [(e["id"], e["type"], e["data"]["previousStatus"], e["data"]["status"]) for e in chain] == [
        ("chain-ev:1", "runbridge.chain.statusChanged", None, "Running"),
        ("chain-ev:2", "runbridge.chain.statusChanged", "Running", "Success")]
    assert [(s["name"], s["status"]) for s in chain[-1]["data"]["steps"]] == [("first", "Success"),
                                                                             ("second", "Success")]
    runs = wait_for(lambda: (d := dedupe(sinks.webhook.events())) and all(
        len(d.get(f"runs/{s['runId']}", [])) >= 4 for s in chain[-1]["data"]["steps"]) and d)
    assert all(events[-1]["data"]["status"] == "Success" for subject, events in runs.items() if "runs/" in subject)
    check_schema(sinks.webhook.events())
