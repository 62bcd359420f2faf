"""Replay ladder for the azureml_pipeline orchestrator through the real SDK handle, no host.

Each rung adds one episode's events and asserts the whole new action list (durable-python's
orchestrator tests, STYLE.md §3 and §8), then the hard rungs: a cancel raised before the first wait,
a cancel that arrives in a continued-as-new execution, and the timer cancelled when the cancel wins.
"""

from __future__ import annotations

import json
from datetime import timedelta

import azure.durable_functions as df

from orchestrators.azureml_pipeline import POLICY
from orchestrators.poll_loop import run_job
from tests.support.history import EPOCH, HistoryBuilder, first_input, flat_actions, published, run, submit_scheduled

REQUEST = {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline", "runId": "run-1",
           "parameters": [{"name": "model_uri", "direction": "Output"}], "timeout": "PT6H", "startTimeout": "PT1H"}
SUBMITTED = {"ok": True, "remoteRunId": "runbridge-run-1", "monitorUrl": "https://ml.azure.com/runs/x",
             "remoteStatus": "NotStarted", "outputs": {}}


def orchestrator(context):
    return (yield from run_job(context, POLICY))


HANDLE = df.Orchestrator.create(orchestrator)


def started() -> HistoryBuilder:
    return HistoryBuilder().add_orchestrator_started().add_execution_started("azureml_pipeline",
                                                                             first_input(REQUEST))


def kinds(state) -> list:
    return [(a["actionType"], a.get("functionName") or a.get("externalEventName")) for a in flat_actions(state)]


def test_rung_1_start_hands_off_its_starting_event_then_races_a_zero_timer_against_the_cancel_event():
    state = run(HANDLE, started())
    assert kinds(state)[-1] == (0, "publish_events")
    handed = json.loads(flat_actions(state)[-1]["input"])
    assert handed["owner"] == "run-1" and handed["notify"] == []
    assert [(e["id"], e["type"], e["sequence"], e["data"]["previousStatus"], e["data"]["status"])
            for e in handed["events"]] == [("run-1:1", "runbridge.run.statusChanged", 1, None, "Starting")]
    assert handed["events"][0]["time"].startswith("2026-02-01T00:00:00")
    state = run(HANDLE, published(started(), 0))
    assert state["isDone"] is False
    assert sorted(kinds(state)[-2:], key=str) == sorted([(5, None), (6, "cancel")], key=str)
    timer = next(a for a in flat_actions(state) if a["actionType"] == 5)
    assert timer["fireAt"].startswith("2026-02-01T00:00:00")
    assert state["customStatus"]["status"] == "Starting" and state["customStatus"]["id"] == "run-1"


def _after_submit() -> HistoryBuilder:
    return submit_scheduled("azureml_pipeline", REQUEST).step(2).add_orchestrator_started().add_task_completed(
        2, SUBMITTED)


def test_rung_2_then_submit():
    b = published(started(), 0).add_timer_created(1, EPOCH).add_orchestrator_completed()
    state = run(HANDLE, b.add_orchestrator_started().add_timer_fired(1, EPOCH))
    assert kinds(state)[-1] == (0, "submit_run")


def test_rung_2b_a_transient_submit_failure_waits_at_least_the_retry_after_then_submits_again():
    b = submit_scheduled("azureml_pipeline", REQUEST).add_orchestrator_started()
    b.add_task_completed(2, {"ok": False, "transient": True, "retryAfter": 90,
                             "error": {"code": "PlatformRejected", "message": "throttled"}})
    state = run(HANDLE, b)
    timer = flat_actions(state)[-1]
    assert timer["actionType"] == 5 and timer["fireAt"].startswith("2026-02-01T00:01:30")  # 90 s > 15 s backoff
    b.add_timer_created(3, EPOCH).add_orchestrator_completed().step(90).add_orchestrator_started()
    state = run(HANDLE, b.add_timer_fired(3, EPOCH))
    assert (flat_actions(state)[-1]["actionType"], flat_actions(state)[-1]["functionName"]) == (0, "submit_run")


def test_rung_3_a_submitted_job_is_polled_at_once():
    state = run(HANDLE, _after_submit())
    assert kinds(state)[-1] == (0, "poll_run")
    assert state["customStatus"]["remoteRunId"] == "runbridge-run-1"


def _polled(status: str, remote: str) -> HistoryBuilder:
    b = _after_submit().add_task_scheduled(3, "poll_run").add_orchestrator_completed().step(1)
    return b.add_orchestrator_started().add_task_completed(3, {"status": status, "remoteStatus": remote})


def _running() -> HistoryBuilder:
    """Polled Running: the change Starting -> Running handed off as task 4."""
    return published(_polled("Running", "Running"), 4)


def test_rung_4a_a_status_change_is_handed_off_as_the_runs_next_event():
    state = run(HANDLE, _polled("Running", "Running"))
    handed = json.loads(flat_actions(state)[-1]["input"])
    assert [(e["id"], e["data"]["previousStatus"], e["data"]["status"], e["data"]["run"]["polls"])
            for e in handed["events"]] == [("run-1:2", "Starting", "Running", 1)]


def test_rung_4_a_running_job_waits_on_a_timer_raced_against_cancel():
    state = run(HANDLE, _running())
    actions = flat_actions(state)
    assert actions[-1]["actionType"] == 5 and actions[-1]["isCanceled"] is False
    assert sum(1 for a in actions if a["actionType"] == 6) == 1  # one cancel waiter, reused by every wait
    assert state["customStatus"]["status"] == "Running" and state["customStatus"]["remoteStatus"] == "Running"
    assert state["customStatus"]["polls"] == 1


def test_rung_5_cancel_event_wins_cancels_the_timer_and_the_remote_job():
    b = _running().add_timer_created(5, EPOCH + timedelta(seconds=8))
    b.add_orchestrator_completed().step(1).add_orchestrator_started().add_event_raised("cancel", {"reason": "x"})
    state = run(HANDLE, b)
    actions = flat_actions(state)
    timer = [a for a in actions if a["actionType"] == 5][-1]
    assert timer["isCanceled"] is True
    assert actions[-1]["functionName"] == "cancel_run"


def test_rung_6_a_terminal_poll_reads_outputs_then_ends_success():
    b = _polled("Success", "Completed").add_task_scheduled(4, "read_outputs").add_orchestrator_completed()
    b.step(1).add_orchestrator_started().add_task_completed(4, {"ok": True, "outputs": {"model_uri": "azureml://m"}})
    handed = json.loads(flat_actions(run(HANDLE, b))[-1]["input"])  # outputs, then the end, in one hand-off
    assert [(e["id"], e["type"].rsplit(".", 1)[1], e["data"]["status"]) for e in handed["events"]] == [
        ("run-1:2", "outputsWritten", "Success"), ("run-1:3", "statusChanged", "Success")]
    assert handed["events"][0]["data"]["outputs"] == {"model_uri": "azureml://m"}
    state = run(HANDLE, published(b, 5))
    assert state["isDone"] is True
    output = state["output"]
    assert output["status"] == "Success" and output["outputs"] == {"model_uri": "azureml://m"}
    assert output["parameters"] == [{"name": "model_uri", "direction": "Output", "value": "azureml://m"}]


def test_rung_7_a_permanent_submit_failure_ends_failed_with_its_code():
    b = submit_scheduled("azureml_pipeline", REQUEST).add_orchestrator_started()
    b.add_task_completed(2, {"ok": False, "error": {"code": "InvalidParameter", "message": "bad input"}})
    state = run(HANDLE, published(b, 3))
    assert state["isDone"] is True
    assert state["output"]["status"] == "Failed" and state["output"]["error"]["code"] == "InvalidParameter"


def test_hard_rung_a_cancel_raised_before_the_first_wait_makes_no_remote_job():
    b = published(started().add_event_raised("cancel", None), 0)
    state = run(HANDLE, published(b, 2))  # the zero timer (1) lost the race; the end is handed off as task 2
    assert state["isDone"] is True
    assert state["output"]["status"] == "Cancelled" and state["output"]["remoteRunId"] is None
    assert {a.get("functionName") for a in flat_actions(state) if a["actionType"] in (0, 1)} == {"publish_events"}


def test_hard_rung_a_cancel_in_a_continued_execution_is_seen_by_its_first_wait():
    poll = {"start_deadline": (EPOCH + timedelta(hours=1)).isoformat(), "run_timeout": 21600.0,
            "status": "Running", "remote_status": "Running", "polls": 50,
            "run_deadline": (EPOCH + timedelta(hours=6)).isoformat()}
    run_record = {"id": "run-1", "status": "Running", "remoteRunId": "runbridge-run-1", "outputs": {}}
    b = HistoryBuilder().add_orchestrator_started()
    b.add_execution_started("azureml_pipeline", {"request": REQUEST, "run": run_record, "poll": poll, "wait": 30})
    b.add_event_raised("cancel", None)  # raised while the old execution was restarting
    state = run(HANDLE, b)
    actions = flat_actions(state)
    assert actions[0]["actionType"] == 5 and actions[0]["isCanceled"] is True
    assert actions[-1]["functionName"] == "cancel_run"


def test_hard_rung_continue_as_new_every_n_polls_carries_the_state():
    b = _after_submit()
    seq, polls = 3, 0
    state = None
    while True:
        b.add_task_scheduled(seq, "poll_run").add_orchestrator_completed().step(1).add_orchestrator_started()
        b.add_task_completed(seq, {"status": "Running", "remoteStatus": "Running"})
        polls += 1
        state = run(HANDLE, b)
        if state["isDone"]:
            break
        if flat_actions(state)[-1].get("functionName") == "publish_events":  # the first poll: now Running
            seq += 1
            state = run(HANDLE, published(b, seq))
        fire = flat_actions(state)[-1]
        assert fire["actionType"] == 5
        b.add_timer_created(seq + 1, EPOCH).add_orchestrator_completed().step(60).add_orchestrator_started()
        b.add_timer_fired(seq + 1, EPOCH)
        seq += 2
    assert polls == POLICY.polls_per_execution
    new_input = next(a for a in flat_actions(state) if a["actionType"] == 4)["input"]
    assert f'"polls": {POLICY.polls_per_execution}' in new_input and '"runbridge-run-1"' in new_input
    carried = json.loads(new_input)
    while isinstance(carried, str):
        carried = json.loads(carried)
    # the moments the next execution's timeline starts with (its own history will not hold them)
    assert [(m["event"], m["status"]) for m in carried["moments"]] == [
        ("submitted", "Starting"), ("status_changed", "Running"), ("continued_as_new", "Running")]
    assert carried["moments"][-1]["polls"] == POLICY.polls_per_execution
    # what the run has announced rides along, so the next execution numbers its events on from there
    assert carried["notice"] == {"sequence": 2, "status": "Running", "outputs": False, "notify": [], "unsent": []}


def test_a_hand_off_the_task_hub_did_not_take_goes_again_with_the_next_one():
    b = started().add_task_scheduled(0, "publish_events").add_orchestrator_completed()
    b.add_orchestrator_started().add_task_completed(0, {"ok": False})  # Starting not taken: the run goes on
    b.add_timer_created(1, EPOCH).add_orchestrator_completed().add_orchestrator_started().add_timer_fired(1, EPOCH)
    b.add_task_scheduled(2, "submit_run").add_orchestrator_completed().step(2).add_orchestrator_started()
    b.add_task_completed(2, SUBMITTED).add_task_scheduled(3, "poll_run").add_orchestrator_completed().step(1)
    b.add_orchestrator_started().add_task_completed(3, {"status": "Running", "remoteStatus": "Running"})
    handed = json.loads(flat_actions(run(HANDLE, b))[-1]["input"])
    assert [e["id"] for e in handed["events"]] == ["run-1:1", "run-1:2"]




STEPS = {"items": [{"name": "train", "status": "Running", "remoteStatus": "Running", "startedAt": "t",
                    "endedAt": None, "error": None, "monitorUrl": None}], "omitted": 0}


def test_rung_steps_the_poll_is_told_the_last_remote_status_and_its_steps_stay_on_the_record():
    state = run(HANDLE, _after_submit())
    poll = flat_actions(state)[-1]
    sent = json.loads(poll["input"]) if isinstance(poll["input"], str) else poll["input"]
    assert sent["remoteStatus"] == "NotStarted"  # the activity reads steps only when this changes
    b = _after_submit().add_task_scheduled(3, "poll_run").add_orchestrator_completed().step(1)
    b.add_orchestrator_started().add_task_completed(3, {"status": "Running", "remoteStatus": "Running",
                                                        "steps": STEPS})
    state = run(HANDLE, published(b, 4))
    assert state["customStatus"]["steps"] == STEPS and "usage" not in state["customStatus"]


def test_hard_rung_steps_ride_through_continue_as_new():
    b = _after_submit()
    seq = 3
    state = None
    while True:
        b.add_task_scheduled(seq, "poll_run").add_orchestrator_completed().step(1).add_orchestrator_started()
        b.add_task_completed(seq, {"status": "Running", "remoteStatus": "Running",
                                   **({"steps": STEPS} if seq == 3 else {})})
        state = run(HANDLE, b)
        if state["isDone"]:
            break
        if flat_actions(state)[-1].get("functionName") == "publish_events":  # the first poll: now Running
            seq += 1
            state = run(HANDLE, published(b, seq))
        b.add_timer_created(seq + 1, EPOCH).add_orchestrator_completed().step(60).add_orchestrator_started()
        b.add_timer_fired(seq + 1, EPOCH)
        seq += 2
    carried = next(a for a in flat_actions(state) if a["actionType"] == 4)["input"]
    while isinstance(carried, str):
        carried = json.loads(carried)
    assert carried["run"]["steps"] == STEPS
