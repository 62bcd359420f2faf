"""Replay rungs of an azureml_pipeline run whose connection has Event Grid events wired: the wait races a
wake-up too, a wake-up makes it poll at once, the safety net then applies, and none is lost across
continue-as-new.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import azure.durable_functions as df

from orchestrators.azureml_pipeline import POLICY
from orchestrators.poll_loop import run_job
from tests.replay.test_azureml_pipeline import REQUEST, SUBMITTED
from tests.support.history import EPOCH, HistoryBuilder, flat_actions, published, run, submit_scheduled


def orchestrator(context):
    return (yield from run_job(context, POLICY))


HANDLE = df.Orchestrator.create(orchestrator)
WIRED = {**SUBMITTED, "events": True}
RUNNING = {"status": "Running", "remoteStatus": "Running"}


def _polled(seq: int = 3) -> HistoryBuilder:
    """Submitted (task 2, events wired), polled Running (task `seq`), the change handed off (task `seq` + 1)."""
    b = submit_scheduled("azureml_pipeline", REQUEST).step(2).add_orchestrator_started().add_task_completed(2, WIRED)
    b.add_task_scheduled(seq, "poll_run").add_orchestrator_completed().step(1)
    return published(b.add_orchestrator_started().add_task_completed(seq, RUNNING), seq + 1)


def _fire_at(action: dict) -> datetime:
    return datetime.fromisoformat(action["fireAt"].replace("Z", "+00:00")[:26] + "+00:00")


def test_the_wait_races_the_timer_the_cancel_and_the_wake_up():
    actions = flat_actions(run(HANDLE, _polled()))
    # the cancel waiter made before submit takes part again: it is not a new action
    assert [(a["actionType"], a.get("externalEventName")) for a in actions[-2:]] == [(5, None), (6, "wake")]
    assert [a.get("externalEventName") for a in actions if a["actionType"] == 6] == ["cancel", "wake"]


def test_a_wake_up_cancels_the_timer_and_polls_at_once_then_the_safety_net_applies():
    b = _polled().add_timer_created(5, EPOCH).add_orchestrator_completed().step(30)
    b.add_orchestrator_started().add_event_raised("wake", {"remoteStatus": "Completed"})
    state = run(HANDLE, b)
    actions = flat_actions(state)
    assert [a for a in actions if a["actionType"] == 5][-1]["isCanceled"] is True
    assert actions[-1]["functionName"] == "poll_run"
    b.add_task_scheduled(6, "poll_run").add_orchestrator_completed().step(1).add_orchestrator_started()
    state = run(HANDLE, b.add_task_completed(6, RUNNING))  # the poll, not the event, decides: still Running
    timer = [a for a in flat_actions(state) if a["actionType"] == 5][-1]
    wait = (_fire_at(timer) - (EPOCH + timedelta(seconds=34))).total_seconds()
    assert POLICY.safety_net * (1 - POLICY.jitter) <= wait <= POLICY.safety_net
    assert state["customStatus"]["status"] == "Running"


def test_without_events_wired_the_wait_races_only_the_cancel():
    b = submit_scheduled("azureml_pipeline", REQUEST).step(2).add_orchestrator_started()
    b.add_task_completed(1, SUBMITTED).add_task_scheduled(2, "poll_run").add_orchestrator_completed().step(1)
    actions = flat_actions(run(HANDLE, b.add_orchestrator_started().add_task_completed(2, RUNNING)))
    assert [a.get("externalEventName") for a in actions if a["actionType"] == 6] == ["cancel"]


def test_a_wake_up_buffered_before_continue_as_new_is_carried_and_the_new_execution_polls_at_once():
    poll = {"start_deadline": (EPOCH + timedelta(hours=1)).isoformat(), "run_timeout": 21600.0,
            "status": "Running", "remote_status": "Running", "polls": POLICY.polls_per_execution - 1,
            "attempt": 9, "run_deadline": (EPOCH + timedelta(hours=6)).isoformat()}
    record = {"id": "run-1", "status": "Running", "remoteStatus": "Running", "remoteRunId": "runbridge-run-1",
              "outputs": {}, "polls": 29}
    b = HistoryBuilder().add_orchestrator_started()
    b.add_execution_started("azureml_pipeline", {"request": REQUEST, "run": record, "poll": poll, "wait": 30,
                                                 "events": True, "woken": True})
    state = run(HANDLE, b)
    assert flat_actions(state)[-1]["functionName"] == "poll_run"  # woken: no wait first
    # the wake-up arrives during the poll that ends this execution
    b.add_task_scheduled(0, "poll_run").add_orchestrator_completed().step(1).add_orchestrator_started()
    b.add_event_raised("wake", None).add_task_completed(0, RUNNING)
    state = run(HANDLE, b)
    # a zero-length race registers the waiter, which takes the buffered wake-up at once; then continue-as-new
    actions = flat_actions(state)
    assert [a["actionType"] for a in actions[-3:]] == [5, 6, 4] and actions[-3]["isCanceled"] is True
    new_input = next(a for a in flat_actions(state) if a["actionType"] == 4)["input"]
    assert '"woken": true' in new_input and '"events": true' in new_input and '"wakeups": 1' in new_input


def test_a_wake_up_raised_while_no_waiter_is_registered_wakes_once_not_forever():
    """The 1.x SDK keeps an event that found no waiter (`deferred_tasks`) and hands it to EVERY later waiter
    of that name in the execution; the loop sees the same wake-up come back and continues as new (a fresh
    execution has no such leftover) instead of polling again and again."""
    b = _polled().add_timer_created(5, EPOCH).add_orchestrator_completed().step(30)
    b.add_orchestrator_started().add_event_raised("wake", {"eventId": "a"})  # wins the race
    b.add_task_scheduled(6, "poll_run").add_orchestrator_completed().step(1)
    b.add_orchestrator_started().add_event_raised("wake", {"eventId": "b"})  # during the poll: no waiter
    b.add_task_completed(6, RUNNING)
    state = run(HANDLE, b)  # the next race takes "b" at once: a new event, so one poll
    assert flat_actions(state)[-1]["functionName"] == "poll_run"
    b.add_timer_created(7, EPOCH).add_task_scheduled(8, "poll_run").add_orchestrator_completed().step(1)
    b.add_orchestrator_started().add_task_completed(8, RUNNING)
    state = run(HANDLE, b)  # the next waiter gets "b" again: not another poll, but continue-as-new
    actions = flat_actions(state)
    assert actions[-1]["actionType"] == 4, [a.get("functionName") or a["actionType"] for a in actions[-4:]]
    assert '"woken": true' in actions[-1]["input"]
