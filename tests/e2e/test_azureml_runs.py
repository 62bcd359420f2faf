"""azureml_pipeline runs end to end: HTTP API → devhost → orchestrator → activities → simulator."""

from __future__ import annotations

from datetime import timedelta

import requests

from .conftest import EPOCH, train_request


def test_a_run_succeeds_and_writes_outputs_back(stack):
    stack.pause_at(timedelta(0))  # the 202 shows the run as it is then: held at its start, it is Starting
    response = stack.post_run(train_request("ok-1"))
    assert response.status_code == 202
    assert response.headers["Location"].endswith("/api/runs/ok-1")
    accepted = response.json()
    assert accepted["id"] == "ok-1" and accepted["status"] == "Starting" and accepted["jobType"] == "azureml_pipeline"
    stack.resume()
    run = stack.wait_run("ok-1")
    assert run["status"] == "Success" and run["remoteStatus"] == "Completed" and run["error"] is None
    assert run["remoteRunId"] == "runbridge-ok-1"
    assert run["monitorUrl"].startswith("https://ml.azure.com/runs/runbridge-ok-1?wsid=")
    values = {p["name"]: p.get("value") for p in run["parameters"]}
    assert values["model_uri"] == run["outputs"]["model_uri"] and values["model_uri"].startswith("azureml://")
    assert values["accuracy"] == run["outputs"]["accuracy"]
    assert values["learning_rate"] == "0.05" and values["epochs"] == "3"
    assert run["startedAt"] and run["endedAt"] and run["polls"] > 5
    stats = stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1 and stats["runningNow"] == 0
    # the clone got the overrides as literal string inputs (azureml-jobs.md §2.1)
    job = requests.get(f"{stack.sim('azure_ml')}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
                       "sim-rg/providers/Microsoft.MachineLearningServices/workspaces/sim-ws/jobs/runbridge-ok-1",
                       params={"api-version": "2024-10-01"}, headers={"Authorization": "Bearer t"}, timeout=10).json()
    learning_rate = job["properties"]["inputs"]["learning_rate"]
    assert (learning_rate["jobInputType"], learning_rate["value"]) == ("literal", "0.05")
    assert job["properties"]["inputs"]["epochs"]["value"] == "3"


def test_a_failing_pipeline_ends_failed_with_the_remote_error(stack):
    body = train_request("fail-1", job="failing-pipeline", parameters=[])
    assert stack.post_run(body).status_code == 202
    run = stack.wait_run("fail-1")
    assert run["status"] == "Failed" and run["remoteStatus"] == "Failed"
    assert run["error"]["code"] == "RemoteFailed"
    assert run["error"]["message"] and "step" in run["error"]["message"].lower()
    assert run["outputs"] == {}


def test_cancel_while_running_cancels_the_remote_job(stack):
    stack.pause_at(timedelta(minutes=8))
    stack.post_run(train_request("cancel-running"))
    stack.host.wait_idle()
    assert stack.get_run("cancel-running")["status"] == "Running"
    response = requests.post(f"{stack.api}/runs/cancel-running/cancel", timeout=10)
    assert response.status_code == 202
    stack.resume()
    run = stack.wait_run("cancel-running")
    assert run["status"] == "Cancelled" and run["remoteStatus"] == "Canceled"
    assert run["error"]["code"] == "Cancelled"
    stats = stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1 and stats["runningNow"] == 0 and stats["cancelsRequested"] == 1


def test_cancel_while_queued(stack):
    stack.pause_at(timedelta(seconds=60))
    stack.post_run(train_request("cancel-queued"))
    stack.host.wait_idle()
    assert stack.get_run("cancel-queued")["status"] == "Starting"
    assert requests.post(f"{stack.api}/runs/cancel-queued/cancel", timeout=10).status_code == 202
    stack.resume()
    run = stack.wait_run("cancel-queued")
    assert run["status"] == "Cancelled"
    assert stack.sim_stats("azure_ml")["runningNow"] == 0


def test_cancel_before_submit_makes_no_remote_job(stack):
    stack.host.hold()
    assert stack.post_run(train_request("cancel-early")).status_code == 202
    assert requests.post(f"{stack.api}/runs/cancel-early/cancel", timeout=10).status_code == 202
    stack.host.hold(False)
    run = stack.wait_run("cancel-early")
    assert run["status"] == "Cancelled" and run["remoteRunId"] is None
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 0


def test_cancel_during_submit_still_cancels_the_job_it_made(stack):
    # the submit's first read is slow (real time), and the cancel lands while it runs
    stack.script_faults("azure_ml", {"kind": "slow", "operation": "Jobs_Get", "seconds": 0.5})
    assert stack.post_run(train_request("cancel-submit")).status_code == 202
    assert requests.post(f"{stack.api}/runs/cancel-submit/cancel", timeout=10).status_code == 202
    run = stack.wait_run("cancel-submit")
    assert run["status"] == "Cancelled"
    stats = stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1 and stats["runningNow"] == 0


def test_cancel_after_the_end_is_a_conflict(stack):
    stack.post_run(train_request("done-1"))
    stack.wait_run("done-1")
    response = requests.post(f"{stack.api}/runs/done-1/cancel", timeout=10)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "Conflict"
    assert requests.post(f"{stack.api}/runs/nope/cancel", timeout=10).status_code == 404


def test_a_six_hour_job_succeeds_with_a_short_history(stack):
    stack.post_run(train_request("long-1", job="long-pipeline", parameters=[], timeout="PT12H"))
    run = stack.wait_run("long-1", timeout=120)
    assert run["status"] == "Success"
    # The cap follows 5% of the running time: about 90 polls for six hours (one-minute polls: 360)
    assert 60 < run["polls"] < 120
    current = stack.host.store.history("long-1")
    every = stack.host.store.history("long-1", all_executions=True)
    assert sum(1 for e in every if e["EventType"] == 16) >= 1  # continue_as_new every 30 polls
    assert len(current) < len(every) / 2  # the live history holds only the polls since the last restart
    assert len(current) < 600
    assert stack.clock.now() - EPOCH > timedelta(hours=6)
    # the timeline still covers the whole run: the moments of earlier executions were carried over
    points = requests.get(f"{stack.api}/runs/long-1/history", timeout=10).json()["timeline"]
    kinds = [p["kind"] for p in points]
    restarts = sum(1 for e in every if e["EventType"] == 16)
    assert kinds[:2] == ["started", "submitted"] and kinds[-2:] == ["outputs", "ended"]
    assert kinds.count("continued") == restarts
    seen = [p["remoteStatus"] for p in points if p["kind"] == "poll"]
    assert seen[0] in ("NotStarted", "Starting") and "Running" in seen and seen[-1] == "Completed"
    assert [p["time"] for p in points] == sorted(p["time"] for p in points)


def test_a_run_past_its_timeout_is_cancelled_and_fails_with_timeout(stack):
    stack.post_run(train_request("slow-1", job="long-pipeline", parameters=[], timeout="PT1H"))
    run = stack.wait_run("slow-1", timeout=60)
    assert run["status"] == "Failed" and run["error"]["code"] == "Timeout"
    assert run["remoteStatus"] == "Canceled"
    stats = stack.sim_stats("azure_ml")
    assert stats["runningNow"] == 0 and stats["cancelsRequested"] == 1


def test_a_run_queued_past_its_start_timeout_fails_with_timeout(stack):
    stack.post_run(train_request("queued-1", startTimeout="PT1M"))
    run = stack.wait_run("queued-1")
    assert run["status"] == "Failed" and run["error"]["code"] == "Timeout"
    assert stack.sim_stats("azure_ml")["runningNow"] == 0


def test_a_put_that_times_out_after_creating_the_job_is_not_sent_twice(stack):
    stack.script_faults("azure_ml", {"kind": "apply_then_timeout", "operation": "Jobs_CreateOrUpdate",
                                     "seconds": 0, "status": 504})
    stack.post_run(train_request("put-timeout"))
    run = stack.wait_run("put-timeout")
    assert run["status"] == "Success"
    stats = stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1
    assert stats["requestsByOperation"]["Jobs_CreateOrUpdate"] == 1


def test_a_dropped_put_connection_is_reconciled_by_reading_the_name_back(stack):
    stack.script_faults("azure_ml", {"kind": "apply_then_timeout", "operation": "Jobs_CreateOrUpdate",
                                     "seconds": 0})
    stack.post_run(train_request("put-drop"))
    assert stack.wait_run("put-drop")["status"] == "Success"
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1


def test_transient_poll_failures_do_not_fail_a_healthy_run(stack):
    stack.pause_at(timedelta(minutes=5))
    stack.post_run(train_request("flaky-1"))
    stack.host.wait_idle()
    stack.script_faults("azure_ml", [{"kind": "throttle", "operation": "Jobs_Get", "times": 3, "retryAfter": 5},
                                     {"kind": "server_error", "operation": "Jobs_Get", "times": 6},
                                     {"kind": "drop", "operation": "Jobs_Get", "times": 2}])
    stack.resume()
    run = stack.wait_run("flaky-1")
    assert run["status"] == "Success"
    assert stack.sim_stats("azure_ml")["faultsInjected"] == 11


def test_each_run_event_is_logged_once_with_its_fields(stack, caplog):
    import json
    import logging

    caplog.set_level(logging.INFO, logger="runbridge.run")
    stack.post_run(train_request("logged-1"))
    stack.wait_run("logged-1")
    events = [json.loads(r.getMessage().split(" ", 1)[1]) for r in caplog.records
              if r.name == "runbridge.run" and r.getMessage().startswith("run_event ")]
    mine = [e for e in events if e["runId"] == "logged-1"]
    kinds = [e["event"] for e in mine]
    assert kinds.count("submitted") == 1 and kinds.count("ended") == 1 and kinds[-1] == "ended"  # replays log nothing
    assert kinds.count("status_changed") >= 2  # Queued..Running..Completed
    ended = mine[-1]
    assert ended["status"] == "Success" and ended["remoteRunId"] == "runbridge-logged-1"
    assert (ended["jobType"], ended["connection"], ended["errorCode"]) == ("azureml_pipeline", "azureml-sim", None)
