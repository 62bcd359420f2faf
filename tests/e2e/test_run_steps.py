"""Steps inside a run, end to end (HTTP API → devhost → poll loop → clients → simulators): for each platform
through a success, a step failure and a cancel; the empty-message Azure ML failure names its failing step;
steps are read at status changes only, survive continue-as-new, and a 500-step pipeline stays bounded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import requests

from core.run_steps import MAX_STEPS
from simulators.azure_ml import WORKSPACE_ID
from simulators.foundry_agents import SLOW_AGENT

from .conftest import train_request
from .test_abacus_runs import abacus_request
from .test_foundry_agent_runs import agent_request


def _steps(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(step["name"], step["status"]) for step in run["steps"]["items"]]


def _history(stack: Any, run_id: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api}/runs/{run_id}/history", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


# ---- azureml_pipeline: the pipeline's child jobs ---------------------------------------------------------

def test_an_azureml_run_carries_its_child_jobs_read_at_status_changes_only(stack):
    stack.post_run(train_request("st-aml"))
    run = stack.wait_run("st-aml")
    assert run["status"] == "Success"
    assert _steps(run) == [("train", "Success"), ("evaluate", "Success")] and run["steps"]["omitted"] == 0
    train = run["steps"]["items"][0]
    assert train["remoteStatus"] == "Completed" and train["startedAt"] and train["endedAt"] and train["error"] is None
    assert train["monitorUrl"].startswith("https://ml.azure.com/runs/")
    assert run.get("usage") is None
    reads = stack.sim_stats("azure_ml")["requestsByOperation"]["Runs_GetChild"]
    # NotStarted → Starting → Queued → Running → Finalizing → Completed: one read per change, not per poll
    assert reads == 5 < run["polls"]


def test_the_empty_message_failure_names_the_failing_step_and_carries_its_error(stack):
    stack.post_run(train_request("st-aml-fail", job="failing-pipeline", parameters=[]))
    run = stack.wait_run("st-aml-fail")
    assert run["status"] == "Failed" and run["error"]["code"] == "RemoteFailed"
    message = run["error"]["message"]
    assert message.startswith("Step train failed: UserError: Execution failed.") and "loss became NaN" in message
    assert _steps(run) == [("prep", "Success"), ("train", "Failed")]
    assert run["steps"]["items"][1]["error"]["code"] == "UserError"


def test_a_cancelled_azureml_run_shows_the_step_it_stopped(stack):
    stack.pause_at(timedelta(minutes=8))
    stack.post_run(train_request("st-aml-cancel"))
    stack.host.wait_idle()
    assert _steps(stack.get_run("st-aml-cancel")) == [("train", "Running")]  # read when it went Running
    assert requests.post(f"{stack.api}/runs/st-aml-cancel/cancel", timeout=10).status_code == 202
    stack.resume()
    run = stack.wait_run("st-aml-cancel")
    assert run["status"] == "Cancelled" and _steps(run) == [("train", "Cancelled")]


def test_steps_survive_continue_as_new(stack):
    stack.pause_at(timedelta(hours=4))
    stack.post_run(train_request("st-long", job="long-pipeline", parameters=[]))
    stack.host.wait_idle()
    live = stack.get_run("st-long")
    assert live["polls"] > 30  # past the azureml policy's polls per execution: a later execution
    assert any(point["kind"] == "continued" for point in _history(stack, "st-long")["timeline"])
    assert _steps(live) == [("train_long", "Running")]
    stack.resume()
    assert _steps(stack.wait_run("st-long")) == [("train_long", "Success")]


def put_wide_pipeline(stack: Any, steps: int = 500) -> None:
    """A template pipeline job `wide-pipeline` of `steps` steps in the Azure ML simulator (through its API)."""
    base = f"{stack.sim('azure_ml')}{WORKSPACE_ID}/jobs"
    headers, version = {"Authorization": "Bearer sim"}, {"api-version": "2024-10-01"}
    template = requests.get(f"{base}/train-pipeline", params=version, headers=headers, timeout=10).json()
    props = {k: v for k, v in template["properties"].items() if k not in ("status", "services") and v is not None}
    step = props["jobs"]["train"]
    props["jobs"] = {f"s{i:03}": {**step, "name": f"s{i:03}", "display_name": f"s{i:03}"} for i in range(steps)}
    props["displayName"] = "wide-pipeline"
    put = requests.put(f"{base}/wide-pipeline", params=version, headers=headers, json={"properties": props},
                       timeout=10)
    assert put.status_code == 201, put.text


def test_a_pipeline_of_500_steps_stays_bounded(stack):
    put_wide_pipeline(stack)
    stack.post_run(train_request("st-wide", job="wide-pipeline"))
    run = stack.wait_run("st-wide")
    assert run["status"] == "Success"
    shown = len(run["steps"]["items"])
    assert 0 < shown <= MAX_STEPS and run["steps"]["omitted"] == 500 - shown
    assert [name for name, _ in _steps(run)] == [f"s{i:03}" for i in range(shown)]
    # the record is the custom status: 16 KB of UTF-16 JSON at most (durable-functions.md §1)
    assert len(json.dumps(stack.get_run("st-wide")).encode("utf-16-le")) <= 16 * 1024
    polls = [event for event in _history(stack, "st-wide")["events"]
             if event["type"] == "TaskCompleted" and "steps" in json.dumps(event.get("result"))]
    assert polls and max(len(json.dumps(event["result"])) for event in polls) < 40_000


# ---- foundry_agent: run steps and usage ------------------------------------------------------------------

def test_an_agent_run_carries_its_run_steps_and_usage(stack):
    stack.post_run(agent_request("st-agent", "hello"))
    run = stack.wait_run("st-agent")
    assert run["status"] == "Success" and _steps(run) == [("message creation", "Success")]
    usage = run["usage"]
    assert usage["totalTokens"] == usage["promptTokens"] + usage["completionTokens"] > 0


def test_a_failed_agent_run_step_carries_the_error_and_a_cancelled_one_is_cancelled(stack):
    scripted = requests.post(f"{stack.sim('foundry_agents')}/_sim/outcomes", json={"outcome": "fail"}, timeout=10)
    assert scripted.status_code < 300
    stack.post_run(agent_request("st-agent-fail", "hello"))
    failed = stack.wait_run("st-agent-fail")
    assert failed["status"] == "Failed" and _steps(failed) == [("message creation", "Failed")]
    assert failed["steps"]["items"][0]["error"] == {"code": "server_error", "message": "Sorry, something went wrong."}
    assert failed["error"]["message"] == "server_error: Sorry, something went wrong."  # already names it
    stack.pause_at(timedelta(minutes=2))
    stack.post_run(agent_request("st-agent-cancel", "take your time", agent=SLOW_AGENT))
    stack.host.wait_idle()
    assert requests.post(f"{stack.api}/runs/st-agent-cancel/cancel", timeout=10).status_code == 202
    stack.resume()
    cancelled = stack.wait_run("st-agent-cancel")
    assert cancelled["status"] == "Cancelled" and _steps(cancelled) == [("message creation", "Cancelled")]
    assert cancelled["usage"] is not None


# ---- abacus_pipeline: the version's step versions --------------------------------------------------------

def test_abacus_runs_carry_their_step_versions_through_success_failure_and_stop(stack):
    stack.post_run(abacus_request("st-ab"))
    stack.post_run(abacus_request("st-ab-fail", job="simfail01", parameters=[{"name": "model_id",
                                                                              "direction": "Output"}]))
    ok, failed = stack.wait_run("st-ab"), stack.wait_run("st-ab-fail")
    assert _steps(ok) == [("prepare_data", "Success"), ("train_model", "Success"), ("evaluate_model", "Success")]
    assert ("train_model", "Failed") in _steps(failed)
    assert "loss became NaN" in next(s for s in failed["steps"]["items"] if s["status"] == "Failed")["error"]["message"]
    assert ok.get("usage") is None
    # a step version dates only its latest change: the start seen while it ran is kept once it ended
    assert ok["steps"]["items"][0]["startedAt"] is not None and ok["steps"]["items"][0]["endedAt"] is not None


def test_a_stopped_abacus_run_shows_its_skipped_steps_cancelled(stack):
    stack.pause_at(timedelta(minutes=5))
    stack.post_run(abacus_request("st-ab-stop"))
    stack.host.wait_idle()
    assert requests.post(f"{stack.api}/runs/st-ab-stop/cancel", timeout=10).status_code == 202
    stack.resume()
    run = stack.wait_run("st-ab-stop")
    assert run["status"] == "Cancelled"
    assert dict(_steps(run))["evaluate_model"] == "Cancelled" and dict(_steps(run))["train_model"] == "Success"


def test_steps_survive_a_host_restart(stack, tmp_path):
    from devhost.host import DevHost
    from devhost.http_server import HttpFrontDoor

    from .conftest import ROOT

    stack.pause_at(timedelta(minutes=8))
    stack.post_run(train_request("st-restart"))
    stack.host.wait_idle()
    assert _steps(stack.get_run("st-restart")) == [("train", "Running")]
    stack.front.stop()
    stack.host.stop()  # the host goes away mid-run; a new one resumes from the same SQLite log
    stack.host = DevHost(ROOT, db_path=str(tmp_path / "devhost.sqlite"), clock=stack.clock)
    stack.front = HttpFrontDoor(stack.host, port=0)  # the fixture stops these two
    stack.host.start()
    stack.front.start()
    stack.api = f"{stack.front.base_url}/api"
    assert _steps(stack.get_run("st-restart")) == [("train", "Running")]
    stack.resume()
    run = stack.wait_run("st-restart")
    assert run["status"] == "Success" and _steps(run) == [("train", "Success"), ("evaluate", "Success")]


def test_a_throttled_steps_read_is_not_sent_again_before_its_retry_after(stack):
    stack.script_faults("azure_ml", {"kind": "throttle", "operation": "Runs_GetChild", "retryAfter": 300})
    stack.post_run(train_request("st-throttled"))
    run = stack.wait_run("st-throttled")
    assert run["status"] == "Success" and _steps(run) == [("train", "Success"), ("evaluate", "Success")]
    reads = [entry for entry in stack.simulation.servers["azure_ml"].request_log()
             if entry["operation"] == "Runs_GetChild"]
    assert reads[0]["status"] == 429 and reads[0]["retryAfter"] == "300"
    throttled_at = datetime.fromisoformat(reads[0]["at"])
    assert datetime.fromisoformat(reads[1]["at"]) >= throttled_at + timedelta(seconds=300)


def test_a_throttled_steps_read_at_the_end_is_read_again_after_its_wait_and_names_the_failing_step(stack):
    stack.pause_at(timedelta(minutes=2))  # failing-pipeline runs from 30 s to 330 s: its steps were read
    stack.post_run(train_request("st-end-throttled", job="failing-pipeline", parameters=[]))
    stack.host.wait_idle()
    stack.script_faults("azure_ml", {"kind": "throttle", "operation": "Runs_GetChild", "retryAfter": 120})
    stack.resume()
    run = stack.wait_run("st-end-throttled")
    assert run["status"] == "Failed" and run["error"]["message"].startswith("Step train failed")
    reads = [entry for entry in stack.simulation.servers["azure_ml"].request_log()
             if entry["operation"] == "Runs_GetChild"]
    throttled = next(i for i, entry in enumerate(reads) if entry["status"] == 429)
    assert datetime.fromisoformat(reads[throttled + 1]["at"]) >= (
        datetime.fromisoformat(reads[throttled]["at"]) + timedelta(seconds=120))
    assert _steps(run) == [("prep", "Success"), ("train", "Failed")]
