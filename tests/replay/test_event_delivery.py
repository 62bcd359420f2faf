"""Replay rungs for the delivery orchestration (orchestrators/notify.py) through the real SDK handle, no host:
hand-offs raised while a delivery round runs are all kept (one waiter, renewed at once: the SDK keeps only
one unclaimed event per name), a refused round waits on a durable timer, and the end comes with the final event.
"""

from __future__ import annotations

import json

import azure.durable_functions as df

from core.cloud_events import new_notice, run_changes
from orchestrators.notify import deliver
from tests.support.history import EPOCH, HistoryBuilder, flat_actions, run

HANDLE = df.Orchestrator.create(deliver)
T = EPOCH.isoformat()


def events() -> list[dict]:
    notice = new_notice()
    run_record = {"id": "r1", "status": "Starting", "outputs": {}}
    found = run_changes(notice, run_record, T)
    found += run_changes(notice, {**run_record, "status": "Running"}, T)
    found += run_changes(notice, {**run_record, "status": "Success", "outputs": {"o": "v"}}, T)
    return [{**e, "source": "runbridge/Hub"} for e in found]


def started(first: list[dict]) -> HistoryBuilder:
    b = HistoryBuilder(instance_id="r1:events").add_orchestrator_started()
    return b.add_execution_started("deliver_run_events", {"owner": "r1", "notify": [], "events": first})


def delivered(b: HistoryBuilder, task: int, progress: dict, failures: dict | None = None) -> HistoryBuilder:
    return b.add_task_completed(task, {"progress": progress, "failures": failures or {}})


def test_hand_offs_raised_during_a_round_are_all_delivered_next_in_order():
    one, two, three, four = events()
    b = started([one]).add_task_scheduled(0, "deliver_events").add_orchestrator_completed()
    b.step(1).add_orchestrator_started()
    b.add_event_raised("events", {"owner": "r1", "events": [two]})
    b.add_event_raised("events", {"owner": "r1", "events": [three, four]})
    b.add_event_raised("events", {"owner": "r1", "events": [two]})  # a repeated hand-off (a crash)
    state = run(HANDLE, delivered(b, 0, {"hook": 1}))
    payload = json.loads(flat_actions(state)[-1]["input"])
    assert flat_actions(state)[-1]["functionName"] == "deliver_events"
    assert [e["id"] for e in payload["events"]] == ["r1:2", "r1:3", "r1:4"] and payload["progress"] == {"hook": 1}
    b.add_task_scheduled(1, "deliver_events").add_orchestrator_completed().step(1).add_orchestrator_started()
    state = run(HANDLE, delivered(b, 1, {"hook": 4}))
    assert state["isDone"] is True and state["output"]["final"] is True and state["output"]["events"] == []


def test_a_refused_round_waits_on_a_durable_timer_then_tries_again():
    b = started(events()[:1]).add_task_scheduled(0, "deliver_events").add_orchestrator_completed()
    b.step(1).add_orchestrator_started()
    state = run(HANDLE, delivered(b, 0, {"hook": 0}, {"hook": {"error": "HTTP 503", "retryAfter": 30}}))
    timer = flat_actions(state)[-1]
    assert timer["actionType"] == 5 and timer["fireAt"].startswith("2026-02-01T00:00:31")  # Retry-After 30 > 10 s
    assert state["customStatus"]["failing"] == {"hook": "HTTP 503"} and state["customStatus"]["pending"] == ["r1:1"]
    b.add_timer_created(1, EPOCH).add_orchestrator_completed().step(30).add_orchestrator_started()
    state = run(HANDLE, b.add_timer_fired(1, EPOCH))
    assert flat_actions(state)[-1]["functionName"] == "deliver_events"


def test_a_round_whose_activity_fails_is_retried_like_a_refusal():
    b = started(events()[:1]).add_task_scheduled(0, "deliver_events").add_orchestrator_completed()
    b.step(1).add_orchestrator_started().add_task_failed(0, "Activity function 'deliver_events' failed: bug")
    state = run(HANDLE, b)
    assert flat_actions(state)[-1]["actionType"] == 5 and state["customStatus"]["pending"] == ["r1:1"]
