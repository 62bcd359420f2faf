"""Foundry Agent Service simulator: run steps (`GET /threads/{t}/runs/{r}/steps`, foundry-agents.md §1),
message_creation and tool_calls, paginated like every list; how they follow a run is in
simulators/foundry_agents/steps.py.
"""

from __future__ import annotations

import re
from typing import Any

from simulators.foundry_agents import SLOW_AGENT, TOOLS_AGENT
from tests.simulators import test_foundry_agents_api as api

foundry, project, make_project = api.foundry, api.project, api.make_project  # shared fixtures
STEP_ID = re.compile(r"^step_[A-Za-z0-9]{24}$")


def _steps(project: Any, run: dict[str, Any], **params: Any) -> dict[str, Any]:
    return project.ok(project.get(f"/threads/{run['thread_id']}/runs/{run['id']}/steps", **params))


def test_a_completed_run_has_one_message_creation_step_naming_its_answer(project, clock):
    run = project.start("Hello")
    assert _steps(project, run)["data"] == []  # queued: no step yet
    clock.advance(1)
    (working,) = _steps(project, run)["data"]
    assert (working["type"], working["status"], working["completed_at"]) == ("message_creation", "in_progress", None)
    assert working["step_details"]["message_creation"]["message_id"] is None
    clock.advance(5)
    (step,) = _steps(project, run)["data"]
    assert STEP_ID.match(step["id"]) and step["id"] == working["id"]  # the same step, read again
    assert (step["object"], step["status"], step["run_id"]) == ("thread.run.step", "completed", run["id"])
    reply = project.messages(run["thread_id"], run_id=run["id"])[0]
    assert step["step_details"] == {"type": "message_creation", "message_creation": {"message_id": reply["id"]}}
    assert step["usage"] == project.run(run)["usage"] and step["completed_at"] == project.run(run)["completed_at"]
    got = project.ok(project.get(f"/threads/{run['thread_id']}/runs/{run['id']}/steps/{step['id']}"))
    assert got == step
    assert project.get(f"/threads/{run['thread_id']}/runs/{run['id']}/steps/step_nope").status_code == 404


def test_tool_calls_then_message_creation_newest_first_and_paged(project, clock):
    run = project.start("order 7", TOOLS_AGENT)
    clock.advance(3)
    (waiting,) = _steps(project, run)["data"]
    assert (waiting["type"], waiting["status"]) == ("tool_calls", "in_progress")
    (call,) = waiting["step_details"]["tool_calls"]
    assert call["function"]["name"] == "lookup_order" and call["function"]["output"] is None
    url = f"/threads/{run['thread_id']}/runs/{run['id']}/submit_tool_outputs"
    project.ok(project.post(url, {"tool_outputs": [{"tool_call_id": call["id"], "output": "shipped"}]}))
    clock.advance(10)
    listed = _steps(project, run)
    assert [(s["type"], s["status"]) for s in listed["data"]] == [
        ("message_creation", "completed"), ("tool_calls", "completed")]  # §1: default order desc
    assert listed["data"][1]["step_details"]["tool_calls"][0]["function"]["output"] == "shipped"
    first = _steps(project, run, limit=1, order="asc")
    assert first["has_more"] is True and first["data"][0]["type"] == "tool_calls"
    rest = _steps(project, run, limit=1, order="asc", after=first["last_id"])
    assert rest["has_more"] is False and rest["data"][0]["type"] == "message_creation"


def test_failed_and_cancelled_runs_end_their_step_so(project, clock):
    failing = project.start("hi", project.ok(project.post(
        "/assistants", {"model": "gpt-4o", "metadata": {"sim.outcome": "fail"}}))["id"])
    slow = project.start("take your time", SLOW_AGENT)
    clock.advance(60)
    project.ok(project.post(f"/threads/{slow['thread_id']}/runs/{slow['id']}/cancel"))
    clock.advance(600)
    (failed,) = _steps(project, failing)["data"]
    assert failed["status"] == "failed" and failed["failed_at"] is not None
    assert failed["last_error"] == {"code": "server_error", "message": "Sorry, something went wrong."}
    (cancelled,) = _steps(project, slow)["data"]
    assert (cancelled["status"], cancelled["last_error"]) == ("cancelled", None)
    assert cancelled["cancelled_at"] == project.run(slow)["cancelled_at"]
