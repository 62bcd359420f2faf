"""Replay rungs for the abacus_pipeline orchestrator through the real SDK handle: what differs from the
azureml_pipeline ladder (the shared loop is climbed there). The submit carries the run's creation time,
which the Abacus client needs to find a version a lost submit made; a stop ends Cancelled with the
platform's note that running steps go on.
"""

from __future__ import annotations

import json
from datetime import timedelta

import azure.durable_functions as df

from orchestrators.abacus_pipeline import POLICY
from orchestrators.poll_loop import run_job
from tests.support.history import EPOCH, HistoryBuilder, first_input, flat_actions, published, run, submit_scheduled

REQUEST = {"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simtrain01", "runId": "run-1",
           "parameters": [{"name": "model_id", "direction": "Output"}], "timeout": "PT6H", "startTimeout": "PT1H"}
SUBMITTED = {"ok": True, "remoteRunId": "a1b2c3d4e5", "monitorUrl": "https://abacus.ai/app/pipelines",
             "remoteStatus": "PENDING", "outputs": {}}
NOTE = "Abacus has no cancel call: ... steps already running finish on the platform."


def orchestrator(context):
    return (yield from run_job(context, POLICY))


HANDLE = df.Orchestrator.create(orchestrator)


def _submitted() -> HistoryBuilder:
    b = submit_scheduled("abacus_pipeline", REQUEST).step(2).add_orchestrator_started()
    return b.add_task_completed(2, SUBMITTED)


def _then(b: HistoryBuilder, seq: int, seconds: float, result: dict) -> HistoryBuilder:
    """A timer `seq` that fires after `seconds`, then poll `seq + 1` answering `result`."""
    b.add_timer_created(seq, EPOCH).add_orchestrator_completed().step(seconds).add_orchestrator_started()
    b.add_timer_fired(seq, EPOCH).add_task_scheduled(seq + 1, "poll_run").add_orchestrator_completed()
    return b.step(1).add_orchestrator_started().add_task_completed(seq + 1, result)


def test_the_submit_carries_the_runs_creation_time():
    b = HistoryBuilder().add_orchestrator_started().add_execution_started("abacus_pipeline", first_input(REQUEST))
    published(b, 0).add_timer_created(1, EPOCH).add_orchestrator_completed()
    state = run(HANDLE, b.add_orchestrator_started().add_timer_fired(1, EPOCH))
    submit = flat_actions(state)[-1]
    assert submit["functionName"] == "submit_run"
    payload = json.loads(submit["input"])
    assert payload["request"] == REQUEST and payload["createdAt"].startswith("2026-02-01T00:00:00")


def test_a_stopped_version_ends_cancelled_with_the_platforms_note():
    b = _submitted().add_task_scheduled(3, "poll_run").add_orchestrator_completed().step(1)
    b.add_orchestrator_started().add_task_completed(3, {"status": "Running", "remoteStatus": "RUNNING"})
    published(b, 4)  # Starting -> Running goes out
    b.add_timer_created(5, EPOCH + timedelta(seconds=5)).add_orchestrator_completed().step(1)
    b.add_orchestrator_started().add_event_raised("cancel", {"reason": "requested"})
    b.add_task_scheduled(6, "cancel_run").add_orchestrator_completed().step(1)
    b.add_orchestrator_started().add_task_completed(6, {"ok": True})
    b = _then(b, 7, POLICY.first_interval, {"status": "Running", "remoteStatus": "RUNNING", "error": NOTE,
                                            "errorCode": "Cancelled"})
    assert run(HANDLE, b)["customStatus"]["error"] == {"code": "Cancelled", "message": NOTE}
    b = _then(b, 9, POLICY.first_interval, {"status": "Cancelled", "remoteStatus": "SKIPPED", "error": NOTE,
                                            "endedAt": "2026-02-01T00:13:00+00:00"})
    state = run(HANDLE, b)
    assert state["isDone"] is False and flat_actions(state)[-1]["functionName"] == "publish_events"
    events = json.loads(flat_actions(state)[-1]["input"])["events"]
    assert [(e["id"], e["data"]["previousStatus"], e["data"]["status"]) for e in events] == [
        ("run-1:3", "Running", "Cancelled")]
    state = run(HANDLE, published(b, 11))
    assert state["isDone"] is True
    output = state["output"]
    assert output["status"] == "Cancelled" and output["remoteStatus"] == "SKIPPED"
    assert output["error"] == {"code": "Cancelled", "message": f"The run was cancelled. {NOTE}"}
    assert output["endedAt"] == "2026-02-01T00:13:00+00:00"
