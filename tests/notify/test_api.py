"""The notification API: the sink test call, and `updatedSince` for schedulers that poll."""

from __future__ import annotations

from datetime import timedelta

import requests

from tests.e2e.conftest import EPOCH

from .conftest import check_schema
from .test_sinks_e2e import agent_request


def test_the_sink_test_sends_a_test_event_and_answers_with_the_sinks_reply(sinks, stack):
    answer = requests.post(f"{stack.api}/notifications/hook/test", timeout=30)
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True and body["status"] == 200 and body["type"] == "webhook" and body["delivered"] == 1
    [delivery] = sinks.webhook.deliveries
    assert delivery["verified"] is None and delivery["event"]["type"] == "runbridge.test"
    assert delivery["event"]["id"] == body["eventId"]
    check_schema([delivery["event"]])
    grid = requests.post(f"{stack.api}/notifications/GRID/test", timeout=30).json()
    assert grid["ok"] is True and grid["type"] == "eventgrid" and sinks.topic.received[0]["type"] == "runbridge.test"


def test_a_failing_sink_test_says_what_the_sink_answered(sinks, stack):
    sinks.webhook.down(503)
    body = requests.post(f"{stack.api}/notifications/hook/test", timeout=30).json()
    assert body["ok"] is False and body["status"] == 503 and body["delivered"] == 0 and "503" in body["error"]
    missing = requests.post(f"{stack.api}/notifications/nowhere/test", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "name"


def test_updated_since_lists_only_the_runs_changed_since(sinks, stack):
    stack.post_run(agent_request("early"))
    stack.wait_run("early")
    stack.pause_at(timedelta(hours=1))
    stack.clock.advance_to(EPOCH + timedelta(minutes=30))
    stack.resume()
    since = stack.clock.now()
    stack.post_run(agent_request("late"))
    stack.wait_run("late")
    listed = requests.get(f"{stack.api}/runs", params={"updatedSince": since.isoformat()}, timeout=30).json()
    assert [r["id"] for r in listed["runs"]] == ["late"]
    everything = requests.get(f"{stack.api}/runs", params={"updatedSince": EPOCH.isoformat()}, timeout=30).json()
    assert {r["id"] for r in everything["runs"]} == {"early", "late"}
    wrong = requests.get(f"{stack.api}/runs", params={"updatedSince": "yesterday"}, timeout=30)
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "updatedSince"
    naive = requests.get(f"{stack.api}/runs", params={"updatedSince": "2026-03-01T00:00:00"}, timeout=30)
    assert naive.status_code == 400
