"""Replay rungs for a submit the platform answers "busy" (an agent thread with another run on it, and the
run asked to wait: when_thread_busy=wait), through the real SDK handle, no host.

A small polls_per_execution makes the continue-as-new of a long wait reachable in a few episodes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import azure.durable_functions as df

from orchestrators.foundry_agent import POLICY
from orchestrators.poll_loop import run_job
from tests.support.history import EPOCH, HistoryBuilder, flat_actions, published, run, submit_scheduled

REQUEST = {"jobType": "foundry_agent", "connection": "foundry-sim", "job": "asst_echo", "runId": "run-1",
           "parameters": [{"name": "user_message", "direction": "Input", "value": "hi"},
                          {"name": "thread_id", "direction": "InputOutput", "value": "thread_abc"},
                          {"name": "when_thread_busy", "direction": "Input", "value": "wait"}],
           "timeout": "PT1H", "startTimeout": "PT1M"}
BUSY = {"ok": False, "transient": False, "busy": True, "retryAfter": None,
        "error": {"code": "PlatformRejected", "message": "Thread thread_abc has an active run run_x (in_progress)."}}
SUBMITTED = {"ok": True, "remoteRunId": "thread_abc/run_y", "monitorUrl": "https://ai.azure.com/", "remoteStatus":
             "queued", "outputs": {"thread_id": "thread_abc"}}
TWO_PER_EXECUTION = replace(POLICY, polls_per_execution=2)


def orchestrator(context):
    return (yield from run_job(context, TWO_PER_EXECUTION))


HANDLE = df.Orchestrator.create(orchestrator)


def first_busy_answer() -> HistoryBuilder:
    """Started, the zero-length cancel race, then a submit answered busy."""
    return submit_scheduled("foundry_agent", REQUEST).step(1).add_orchestrator_started().add_task_completed(
        2, BUSY)


def second_attempt(b: HistoryBuilder) -> HistoryBuilder:
    """The 1 s wait after the first busy answer fires and the submit is asked again."""
    fire = b.now + timedelta(seconds=1)
    b.add_timer_created(3, fire).add_orchestrator_completed().step(1).add_orchestrator_started()
    return b.add_timer_fired(3, fire).add_task_scheduled(4, "submit_run").add_orchestrator_completed().step(1)


def test_a_busy_answer_waits_the_first_interval_raced_against_cancel_with_no_remote_job():
    state = run(HANDLE, first_busy_answer())
    actions = flat_actions(state)
    assert state["isDone"] is False
    assert actions[-1]["actionType"] == 5 and actions[-1]["fireAt"].startswith("2026-02-01T00:00:02")
    assert sum(1 for a in actions if a["actionType"] == 6) == 1  # the one cancel waiter
    assert state["customStatus"]["status"] == "Starting" and state["customStatus"]["remoteRunId"] is None


def test_after_polls_per_execution_busy_answers_it_continues_as_new_carrying_the_start_deadline():
    b = second_attempt(first_busy_answer()).add_orchestrator_started().add_task_completed(4, BUSY)
    state = run(HANDLE, b)
    again = [a for a in flat_actions(state) if a["actionType"] == 4]
    assert len(again) == 1
    carried = json.loads(again[0]["input"])
    assert carried["waiting"]["poll"]["start_deadline"] == (EPOCH + timedelta(minutes=1)).isoformat()
    assert carried["waiting"]["wait"] == 1.5  # grown by the policy, carried to the next execution
    assert [m["event"] for m in carried["moments"]] == ["waiting", "continued_as_new"]


def test_a_cancel_raised_during_the_last_busy_attempt_is_not_lost_to_continue_as_new():
    b = second_attempt(first_busy_answer()).add_orchestrator_started()
    b.add_event_raised("cancel", {"reason": "requested"}).add_task_completed(4, BUSY)
    assert flat_actions(run(HANDLE, b))[-1]["functionName"] == "publish_events"  # Starting -> Cancelled
    state = run(HANDLE, published(b, 5))
    assert state["isDone"] is True and not [a for a in flat_actions(state) if a["actionType"] == 4]
    assert state["output"]["status"] == "Cancelled" and state["output"]["remoteRunId"] is None


def test_a_continued_wait_first_waits_then_submits_and_the_run_proceeds():
    run_record = {"id": "run-1", "status": "Starting", "remoteRunId": None, "createdAt": EPOCH.isoformat(),
                  "outputs": {}, "parameters": REQUEST["parameters"], "polls": 0}
    poll = {"start_deadline": (EPOCH + timedelta(minutes=1)).isoformat(), "run_timeout": 3600.0}
    b = HistoryBuilder(start=EPOCH + timedelta(seconds=3)).add_orchestrator_started()
    b.add_execution_started("foundry_agent", {"request": REQUEST, "run": run_record, "moments": [],
                                              "notice": {"sequence": 1, "status": "Starting", "outputs": False},
                                              "waiting": {"poll": poll, "wait": 1.5}})
    b.add_timer_created(0, b.now).add_orchestrator_completed().add_orchestrator_started().add_timer_fired(0, b.now)
    state = run(HANDLE, b)
    assert flat_actions(state)[-1]["actionType"] == 5
    assert flat_actions(state)[-1]["fireAt"].startswith("2026-02-01T00:00:04.5")  # the carried 1.5 s
    fire = b.now + timedelta(seconds=1.5)
    b.add_timer_created(1, fire).add_orchestrator_completed().step(1.5).add_orchestrator_started()
    b.add_timer_fired(1, fire).add_task_scheduled(2, "submit_run").add_orchestrator_completed().step(1)
    state = run(HANDLE, b.add_orchestrator_started().add_task_completed(2, SUBMITTED))
    assert flat_actions(state)[-1].get("functionName") == "poll_run"
    assert state["customStatus"]["remoteRunId"] == "thread_abc/run_y"


def test_still_busy_at_the_start_deadline_ends_failed_timeout_without_a_remote_job():
    late = submit_scheduled("foundry_agent", REQUEST).step(59.5).add_orchestrator_started()
    late.add_task_completed(2, BUSY)
    state = run(HANDLE, published(late, 3))
    assert state["isDone"] is True
    output = state["output"]
    assert output["status"] == "Failed" and output["error"]["code"] == "Timeout" and output["remoteRunId"] is None
    assert "active run" in output["error"]["message"] and "PT1M" in output["error"]["message"]
