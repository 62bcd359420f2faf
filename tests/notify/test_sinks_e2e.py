"""Run events end to end: runs on devhost and the simulators, events at a signed webhook and an Event Grid topic."""

from __future__ import annotations

import time

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
