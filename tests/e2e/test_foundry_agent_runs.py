"""foundry_agent runs end to end: HTTP API → devhost → orchestrator → activities → agents simulator."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests

from simulators.foundry_agents import ECHO_AGENT, SLOW_AGENT, TOOLS_AGENT


def agent_request(run_id: str, message: str | None = "hello", agent: str = ECHO_AGENT,
                  thread_id: str | None = None) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    if message is not None:
        parameters.append({"name": "user_message", "value": message, "direction": "Input"})
    thread = {"name": "thread_id", "direction": "Input&Output"}  # the seeds' spelling
    if thread_id is not None:
        thread["value"] = thread_id
    parameters += [thread, {"name": "response", "direction": "Output"}]
    return {"jobType": "foundry_agent", "connection": "foundry-sim", "job": agent, "runId": run_id,
            "parameters": parameters}


def values(run: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: p.get("value") for p in run["parameters"]}


def seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def test_an_echo_run_succeeds_and_writes_response_and_thread_back(stack):
    response = stack.post_run(agent_request("agent-1", "hello there"))
    assert response.status_code == 202 and response.json()["jobType"] == "foundry_agent"
    run = stack.wait_run("agent-1")
    assert run["status"] == "Success" and run["remoteStatus"] == "completed" and run["error"] is None
    thread_id, run_part = run["remoteRunId"].split("/")
    assert thread_id.startswith("thread_") and run_part.startswith("run_")
    assert run["outputs"] == {"thread_id": thread_id, "response": "You said: hello there (message 1 in this thread)"}
    assert values(run) == {"user_message": "hello there", "thread_id": thread_id,
                           "response": "You said: hello there (message 1 in this thread)"}
    assert run["monitorUrl"].startswith("https://ai.azure.com/")
    # agent runs are short: polled from 1 s, so a 3-second run ends within seconds, in a handful of polls
    assert seconds(run["createdAt"], run["endedAt"]) < 10 and 2 <= run["polls"] <= 6
    stats = stack.sim_stats("foundry_agents")
    assert stats["runsCreated"] == 1 and stats["activeRuns"] == 0 and stats["messages"] == 2


def test_a_second_run_given_the_first_runs_thread_continues_it(stack):
    stack.post_run(agent_request("chat-1", "first"))
    first = stack.wait_run("chat-1")
    thread_id = values(first)["thread_id"]
    stack.post_run(agent_request("chat-2", "second", thread_id=thread_id))
    second = stack.wait_run("chat-2")
    assert second["status"] == "Success"
    assert values(second)["response"] == "You said: second (message 2 in this thread)"
    assert values(second)["thread_id"] == thread_id and second["remoteRunId"].startswith(thread_id + "/")
    stats = stack.sim_stats("foundry_agents")
    assert stats["threads"] == 1 and stats["runsCreated"] == 2 and stats["messages"] == 4


def test_a_tools_agent_ends_failed_with_requires_action_and_its_run_cancelled(stack):
    stack.post_run(agent_request("tools-1", "where is order 42", agent=TOOLS_AGENT))
    run = stack.wait_run("tools-1")
    assert run["status"] == "Failed" and run["remoteStatus"] == "cancelled"
    assert run["error"]["code"] == "RequiresAction" and "lookup_order" in run["error"]["message"]
    assert values(run)["thread_id"].startswith("thread_")  # known at submit, written back even on failure
    assert values(run)["response"] is None
    assert seconds(run["createdAt"], run["endedAt"]) < 60  # not the ten-minute expiry
    stats = stack.sim_stats("foundry_agents")
    assert stats["cancelsRequested"] == 1 and stats["activeRuns"] == 0 and stats["runsByStatus"] == {"cancelled": 1}


def test_a_slow_agent_run_is_cancelled_on_request(stack):
    stack.pause_at(timedelta(minutes=2))
    stack.post_run(agent_request("slow-1", "take your time", agent=SLOW_AGENT))
    stack.host.wait_idle()
    assert stack.get_run("slow-1")["status"] == "Running"
    assert requests.post(f"{stack.api}/runs/slow-1/cancel", timeout=10).status_code == 202
    stack.resume()
    run = stack.wait_run("slow-1")
    assert run["status"] == "Cancelled" and run["remoteStatus"] == "cancelled"
    assert run["error"]["code"] == "Cancelled"
    stats = stack.sim_stats("foundry_agents")
    assert stats["cancelsRequested"] == 1 and stats["activeRuns"] == 0


def test_a_rate_limited_agent_run_fails_with_its_own_code_and_the_platforms_message(stack):
    response = requests.post(f"{stack.sim('foundry_agents')}/_sim/outcomes", json={"outcome": "rate_limit"},
                             timeout=10)
    assert response.status_code < 300
    stack.post_run(agent_request("limited-1"))
    run = stack.wait_run("limited-1")
    assert run["status"] == "Failed" and run["remoteStatus"] == "failed"
    assert run["error"]["code"] == "RateLimited"
    assert run["error"]["message"] == "rate_limit_exceeded: Rate limit is exceeded. Try again in 60 seconds."


def test_a_run_post_that_times_out_after_acting_makes_one_run(stack):
    stack.script_faults("foundry_agents", {"kind": "apply_then_timeout", "operation": "createThreadAndRun",
                                           "seconds": 0})
    stack.post_run(agent_request("drop-1"))
    assert stack.wait_run("drop-1")["status"] == "Success"
    stats = stack.sim_stats("foundry_agents")
    assert stats["runsCreated"] == 1 and stats["requestsByOperation"]["createThreadAndRun"] == 1


def test_a_busy_thread_fails_the_run_with_a_clear_error(stack):
    stack.pause_at(timedelta(minutes=1))
    stack.post_run(agent_request("busy-1", "think", agent=SLOW_AGENT))
    stack.host.wait_idle()
    thread_id = stack.get_run("busy-1")["outputs"]["thread_id"]
    stack.post_run(agent_request("busy-2", "interrupt", thread_id=thread_id))
    stack.host.wait_idle()
    run = stack.get_run("busy-2")
    assert run["status"] == "Failed" and "ThreadBusy" in run["error"]["message"]
    assert stack.sim_stats("foundry_agents")["runsCreated"] == 1
    stack.resume()
    assert stack.wait_run("busy-1", timeout=60)["status"] == "Success"


def busy_thread(stack, run_id: str) -> str:
    """Start a ten-minute agent run, hold time one minute in, and return its (busy) thread."""
    stack.pause_at(timedelta(minutes=1))
    stack.post_run(agent_request(run_id, "think", agent=SLOW_AGENT))
    stack.host.wait_idle()
    return stack.get_run(run_id)["outputs"]["thread_id"]


def waiting_request(run_id: str, thread_id: str, **fields: Any) -> dict[str, Any]:
    body = agent_request(run_id, "after you", thread_id=thread_id)
    body["parameters"].append({"name": "when_thread_busy", "value": "wait", "direction": "Input"})
    return {**body, **fields}


def test_with_when_thread_busy_wait_a_run_waits_for_the_threads_run_then_continues_the_thread(stack):
    thread_id = busy_thread(stack, "wait-1")
    stack.post_run(waiting_request("wait-2", thread_id))
    stack.host.wait_idle()
    waiting = stack.get_run("wait-2")
    assert waiting["status"] == "Starting" and waiting["remoteRunId"] is None
    assert stack.sim_stats("foundry_agents")["runsCreated"] == 1
    stack.resume()
    first, second = stack.wait_run("wait-1", timeout=60), stack.wait_run("wait-2", timeout=60)
    assert first["status"] == second["status"] == "Success"
    assert second["remoteRunId"].startswith(thread_id + "/")
    assert values(second)["response"] == "You said: after you (message 2 in this thread)"
    # it started once the first had ended: polled at most 5 s apart, so within seconds of it
    assert 0 <= seconds(first["endedAt"], second["startedAt"]) < 15
    assert stack.sim_stats("foundry_agents")["runsCreated"] == 2
    timeline = requests.get(f"{stack.api}/runs/wait-2/history", timeout=10).json()["timeline"]
    kinds = [point["kind"] for point in timeline]
    assert "submit_wait" in kinds and kinds.index("submit_wait") < kinds.index("submitted")
    assert "continued" in kinds[:kinds.index("submitted")]  # nine minutes of waiting kept the history short


def test_a_run_waiting_for_a_busy_thread_is_cancelled_without_submitting(stack):
    thread_id = busy_thread(stack, "wait-3")
    stack.post_run(waiting_request("wait-4", thread_id))
    stack.host.wait_idle()
    assert requests.post(f"{stack.api}/runs/wait-4/cancel", timeout=10).status_code == 202
    stack.host.wait_idle()
    run = stack.get_run("wait-4")
    assert run["status"] == "Cancelled" and run["remoteRunId"] is None
    assert stack.sim_stats("foundry_agents")["runsCreated"] == 1
    stack.resume()
    assert stack.wait_run("wait-3", timeout=60)["status"] == "Success"  # the thread's own run goes on


def test_a_run_still_waiting_for_its_thread_at_start_timeout_fails_with_timeout_and_submits_nothing(stack):
    thread_id = busy_thread(stack, "wait-5")
    stack.resume()
    stack.post_run(waiting_request("wait-6", thread_id, startTimeout="PT2M"))
    run = stack.wait_run("wait-6", timeout=60)
    assert run["status"] == "Failed" and run["error"]["code"] == "Timeout" and run["remoteRunId"] is None
    assert "active run" in run["error"]["message"] and "PT2M" in run["error"]["message"]
    assert 100 <= seconds(run["createdAt"], run["endedAt"]) <= 120
    assert stack.sim_stats("foundry_agents")["runsCreated"] == 1
    assert stack.wait_run("wait-5", timeout=60)["status"] == "Success"


def test_a_request_without_user_message_or_for_an_unknown_agent_is_a_400(stack):
    missing = stack.post_run(agent_request("bad-1", message=None))
    assert missing.status_code == 400
    assert missing.json()["error"]["field"] == "parameters" and "user_message" in missing.json()["error"]["message"]
    unknown = stack.post_run(agent_request("bad-2", agent="asst_nosuchagent000000000000"))
    assert unknown.status_code == 400
    assert unknown.json()["error"]["field"] == "job" and unknown.json()["error"]["code"] == "NotFound"
    extra = agent_request("bad-3")
    extra["parameters"].append({"name": "temperature", "value": "1", "direction": "Input"})
    wrong = stack.post_run(extra)
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "parameters[3].name"
    assert stack.sim_stats("foundry_agents")["runsCreated"] == 0
    assert requests.get(f"{stack.api}/runs/bad-1", timeout=10).status_code == 404
