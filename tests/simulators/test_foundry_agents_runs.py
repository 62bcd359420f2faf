"""Foundry Agent Service simulator, runs on a virtual clock: lifecycle, one active run per thread,
requires_action and expiry, tool outputs, cancel, scripted outcomes, stats (foundry-agents.md §2-§4).

Time moves only by `clock.advance` (DESIGN.md "Clocks").
"""

from __future__ import annotations

import json

import pytest

from simulators.foundry_agents import ECHO_AGENT, SLOW_AGENT, TOOLS_AGENT
from tests.simulators import test_foundry_agents_api as api

foundry, project, make_project = api.foundry, api.project, api.make_project  # shared fixtures
ID = api.ID


def _created_agent(project, **fields) -> str:
    return project.ok(project.post("/assistants", {"model": "gpt-4o", **fields}))["id"]


def test_an_echo_run_is_queued_then_in_progress_then_completed_with_its_answer(project, clock):
    start = int(clock.now().timestamp())
    run = project.start("Hello")
    assert ID["run"].match(run["id"]) and ID["thread"].match(run["thread_id"])
    assert (run["status"], run["created_at"], run["expires_at"]) == ("queued", start, start + 600)
    assert (run["started_at"], run["completed_at"], run["usage"], run["last_error"]) == (None, None, None, None)
    assert run["assistant_id"] == ECHO_AGENT and run["model"] == "gpt-4o-mini"
    assert project.answer(run) == []
    clock.advance(1)
    running = project.run(run)
    assert (running["status"], running["started_at"]) == ("in_progress", start + 1)
    clock.advance(2)
    done = project.run(run)
    assert (done["status"], done["completed_at"], done["failed_at"]) == ("completed", start + 3, None)
    usage = done["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert project.answer(run) == ["You said: Hello (message 1 in this thread)"]
    reply = project.messages(run["thread_id"], run_id=run["id"])[0]
    assert ID["msg"].match(reply["id"])
    assert (reply["assistant_id"], reply["run_id"], reply["status"]) == (ECHO_AGENT, run["id"], "completed")
    assert reply["created_at"] == start + 3


def test_the_echo_counts_user_messages_across_turns_with_additional_messages(project, clock):
    first = project.start("one")
    clock.advance(5)
    second = project.ok(
        project.post(
            f"/threads/{first['thread_id']}/runs",
            {"assistant_id": ECHO_AGENT, "additional_messages": [{"role": "user", "content": "two"}]},
        )
    )
    clock.advance(5)
    assert project.answer(second) == ["You said: two (message 2 in this thread)"]
    roles = [m["role"] for m in project.messages(first["thread_id"], order="asc")]
    assert roles == ["user", "assistant", "user", "assistant"]


def test_one_active_run_per_thread_refuses_messages_and_runs_with_the_platform_wording(project, clock):
    run = project.start("busy")
    thread = run["thread_id"]
    posted = project.post(f"/threads/{thread}/messages", {"role": "user", "content": "and another thing"})
    assert posted.status_code == 400
    assert posted.json() == {  # §4, item 7
        "error": {
            "message": f"Can't add messages to {thread} while a run {run['id']} is active.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    again = project.post(
        f"/threads/{thread}/runs",
        {"assistant_id": ECHO_AGENT, "additional_messages": [{"role": "user", "content": "lost?"}]},
    )
    assert again.status_code == 400
    assert again.json()["error"]["message"] == f"Thread {thread} already has an active run {run['id']}."
    assert len(project.messages(thread)) == 1  # the refused additional message was not added
    latest = project.ok(project.get(f"/threads/{thread}/runs", limit=1))  # client item 4: the active-run check
    assert [(r["id"], r["status"]) for r in latest["data"]] == [(run["id"], "queued")]
    assert latest["has_more"] is False
    clock.advance(3)
    assert project.post(f"/threads/{thread}/messages", {"role": "user", "content": "now"}).status_code == 200
    assert project.stats()["runsCreated"] == 1


def test_the_tools_agent_waits_in_requires_action_then_expires_after_ten_minutes(project, clock):
    run = project.start("order 42", TOOLS_AGENT)
    clock.advance(3)
    waiting = project.run(run)
    assert waiting["status"] == "requires_action"
    action = waiting["required_action"]
    assert action["type"] == "submit_tool_outputs"
    (call,) = action["submit_tool_outputs"]["tool_calls"]
    assert ID["call"].match(call["id"])
    assert call["type"] == "function"
    assert call["function"]["name"] == "lookup_order"
    assert json.loads(call["function"]["arguments"]) == {"order_id": "order 42"}
    clock.advance(596)  # 599 s after creation
    assert project.status(run) == "requires_action"
    clock.advance(1)
    expired = project.run(run)
    assert (expired["status"], expired["required_action"], expired["completed_at"]) == ("expired", None, None)
    assert expired["usage"] is not None
    assert project.answer(run) == []
    late = project.post(
        f"/threads/{run['thread_id']}/runs/{run['id']}/submit_tool_outputs",
        {"tool_outputs": [{"tool_call_id": call["id"], "output": "x"}]},
    )
    assert late.status_code == 400
    assert late.json()["error"]["message"] == 'Runs in status "expired" do not accept tool outputs.'


def test_submitted_tool_outputs_let_the_run_complete(project, clock):
    run = project.start("order 7", TOOLS_AGENT)
    clock.advance(3)
    call = project.run(run)["required_action"]["submit_tool_outputs"]["tool_calls"][0]
    url = f"/threads/{run['thread_id']}/runs/{run['id']}/submit_tool_outputs"
    wrong = project.post(url, {"tool_outputs": [{"tool_call_id": "call_other", "output": "x"}]})
    assert wrong.status_code == 400 and "Expected tool outputs for call_ids" in wrong.json()["error"]["message"]
    resumed = project.ok(project.post(url, {"tool_outputs": [{"tool_call_id": call["id"], "output": "shipped"}]}))
    assert (resumed["status"], resumed["required_action"]) == ("queued", None)  # §1: 200 ThreadRun
    clock.advance(3)
    assert project.status(run) == "completed"
    assert project.answer(run) == ["The tool lookup_order returned: shipped"]
    assert project.stats()["toolOutputsSubmitted"] == 1


def test_tool_outputs_are_refused_unless_the_run_requires_action(project):
    run = project.start("hi")
    refused = project.post(f"/threads/{run['thread_id']}/runs/{run['id']}/submit_tool_outputs", {"tool_outputs": []})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == 'Runs in status "queued" do not accept tool outputs.'


def test_an_agent_created_with_a_function_tool_requires_action_too(project, clock):
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    agent = _created_agent(project, tools=[tool])
    run = project.start("Paris?", agent)
    clock.advance(3)
    call = project.run(run)["required_action"]["submit_tool_outputs"]["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": json.dumps({"input": "Paris?"})}


def test_the_slow_agent_runs_about_ten_minutes_then_completes(project, clock):
    run = project.start("take your time", SLOW_AGENT)
    clock.advance(300)
    assert project.status(run) == "in_progress"
    clock.advance(289)
    assert project.status(run) == "in_progress"
    assert project.stats()["activeRuns"] == 1
    clock.advance(1)
    assert project.status(run) == "completed"
    assert project.answer(run) == ["You said: take your time (message 1 in this thread)"]


def test_cancel_answers_cancelling_then_the_run_is_cancelled(project, clock):
    start = int(clock.now().timestamp())
    run = project.start("never mind", SLOW_AGENT)
    clock.advance(60)
    url = f"/threads/{run['thread_id']}/runs/{run['id']}/cancel"
    cancelling = project.ok(project.http.post(project.base + url, params={"api-version": "v1"}))  # no body
    assert (cancelling["status"], cancelling["cancelled_at"]) == ("cancelling", None)
    assert project.ok(project.post(url))["status"] == "cancelling"  # a repeated cancel is not refused
    clock.advance(3)
    cancelled = project.run(run)
    assert (cancelled["status"], cancelled["cancelled_at"], cancelled["completed_at"]) == (
        "cancelled",
        start + 63,
        None,
    )
    assert project.answer(run) == []
    refused = project.post(url)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Cannot cancel run with status 'cancelled'."
    stats = project.stats()
    assert (stats["cancelsRequested"], stats["activeRuns"], stats["runsByStatus"]) == (1, 0, {"cancelled": 1})


def test_a_run_that_ends_before_the_cancel_completes_keeps_its_own_ending(project, clock):
    run = project.start("quick")
    clock.advance(2)  # echo completes at 3 s; a cancel takes 3 s
    assert project.ok(project.post(f"/threads/{run['thread_id']}/runs/{run['id']}/cancel"))["status"] == "cancelling"
    clock.advance(1)
    assert project.status(run) == "completed"
    assert project.answer(run) == ["You said: quick (message 1 in this thread)"]


def test_cancelling_a_run_in_requires_action_cancels_it(project, clock):
    run = project.start("order 1", TOOLS_AGENT)
    clock.advance(5)
    project.ok(project.post(f"/threads/{run['thread_id']}/runs/{run['id']}/cancel"))
    clock.advance(600)
    assert project.status(run) == "cancelled"  # not expired: cancelling is not subject to expiry


@pytest.mark.parametrize(
    ("outcome", "status", "field", "value"),
    [
        (
            "rate_limit",
            "failed",
            "last_error",
            {"code": "rate_limit_exceeded", "message": "Rate limit is exceeded. Try again in 60 seconds."},
        ),
        ("fail", "failed", "last_error", {"code": "server_error", "message": "Sorry, something went wrong."}),
        ("incomplete", "incomplete", "incomplete_details", {"reason": "max_completion_tokens"}),
        ("expire", "expired", "last_error", None),
    ],
)
def test_agent_metadata_scripts_failed_incomplete_and_expired_runs(project, clock, outcome, status, field, value):
    agent = _created_agent(project, metadata={"sim.outcome": outcome})
    run = project.start("hi", agent)
    clock.advance(600)
    ended = project.run(run)
    assert (ended["status"], ended[field]) == (status, value)
    assert (ended["failed_at"] is not None) == (status == "failed")
    assert ended["completed_at"] is None
    messages = project.messages(run["thread_id"], run_id=run["id"])
    if status == "incomplete":  # a partial answer, marked as cut short
        (message,) = messages
        assert (message["status"], message["incomplete_details"]) == ("incomplete", {"reason": "max_tokens"})
        assert message["incomplete_at"] is not None and message["completed_at"] is None
    else:
        assert messages == []


def test_a_run_can_end_with_several_assistant_messages_annotations_and_an_image(project, clock):
    run = project.start("forecast?", _created_agent(project, metadata={"sim.outcome": "multi"}))
    clock.advance(3)
    messages = project.messages(run["thread_id"], run_id=run["id"], order="asc")
    assert [m["role"] for m in messages] == ["assistant", "assistant"]
    text = messages[0]["content"][0]["text"]
    (annotation,) = text["annotations"]
    assert annotation["type"] == "file_citation"
    assert text["value"][annotation["start_index"] : annotation["end_index"]] == annotation["text"] == "【4:0†source】"
    assert [block["type"] for block in messages[1]["content"]] == ["image_file", "text"]
    assert project.answer(run) == [text["value"], "The chart above shows the week ahead."]


def test_outcomes_scripted_over_sim_apply_to_the_next_runs_in_order(project, clock):
    script = {
        "assistantId": ECHO_AGENT,
        "outcome": {
            "status": "failed",
            "runningSeconds": 30,
            "lastError": {"code": "rate_limit_exceeded", "message": "Try again in 5 seconds."},
        },
    }
    listed = project.sim("POST", "outcomes", json=[script, {"outcome": {"messages": ["a", "b"]}}]).json()
    assert [entry["times"] for entry in listed["pending"]] == [1, 1]
    failing = project.start("one")
    several = project.start("two")
    normal = project.start("three")
    clock.advance(20)
    assert project.status(failing) == "in_progress"
    clock.advance(20)
    assert project.run(failing)["last_error"]["message"] == "Try again in 5 seconds."
    assert project.answer(several) == ["a", "b"]
    assert project.answer(normal) == ["You said: three (message 1 in this thread)"]
    assert project.sim("POST", "outcomes", json={"outcome": "unheard-of"}).status_code == 400
    assert project.stats()["outcomesPending"] == 0


def test_run_overrides_and_metadata_show_on_the_run(project):
    thread = project.thread("hi")
    run = project.ok(
        project.post(
            f"/threads/{thread}/runs",
            {
                "assistant_id": ECHO_AGENT,
                "model": "gpt-4.1",
                "additional_instructions": "Be terse.",
                "metadata": {"caller": "runbridge"},
                "max_completion_tokens": 100,
            },
        )
    )
    assert (run["model"], run["metadata"], run["max_completion_tokens"]) == ("gpt-4.1", {"caller": "runbridge"}, 100)
    assert run["instructions"].endswith("\n\nBe terse.")
    assert run["truncation_strategy"] == {"type": "auto", "last_messages": None}
    assert project.post(f"/threads/{thread}/runs", {}).json()["error"]["param"] == "assistant_id"


def test_stats_count_runs_threads_and_messages_and_reset_restores_the_catalog(project, clock):
    project.start("a")
    project.start("b", SLOW_AGENT)
    stats = project.stats()
    assert (stats["remoteJobsCreated"], stats["runningNow"], stats["threads"], stats["messages"]) == (2, 2, 2, 2)
    assert stats["requestsByOperation"] == {"createThreadAndRun": 2}
    clock.advance(10)
    stats = project.stats()
    assert (stats["runningNow"], stats["messages"], stats["runsByStatus"]) == (
        1,
        3,
        {"completed": 1, "in_progress": 1},
    )
    _created_agent(project)
    reset = project.sim("POST", "reset").json()
    assert (reset["remoteJobsCreated"], reset["threads"], reset["messages"], reset["agents"]) == (0, 0, 0, 3)
    assert [a["id"] for a in project.ok(project.get("/assistants"))["data"]][-1] == ECHO_AGENT
