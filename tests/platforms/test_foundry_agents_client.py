"""The Foundry agents client against the simulator over real HTTP, checked against
reference/foundry-agents.md ("What a client must handle"). Time moves only on the virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from core.connections import Connection, ConnectionType
from core.errors import ValidationError
from core.parameters import Direction, Parameter
from core.run_request import RunRequest
from core.status import ErrorCode, RunStatus
from devkit.clock import VirtualClock
from platforms.foundry_agents.client import STATUS_TABLE, FoundryAgentsClient, create_client, error_parser
from platforms.foundry_agents.wire import RUN_ID_TAG, answer_text, split_remote_run_id
from platforms.http import IN_ACTIVITY, ErrorKind, HttpClient, PlatformError
from simulators.foundry_agents import ECHO_AGENT, FORBIDDEN_TOKEN, PROJECT, SLOW_AGENT, TOOLS_AGENT
from simulators.registry import create_server
from simulators.server import SimServer

EPOCH = datetime(2026, 3, 1, tzinfo=timezone.utc)
# §3 RunStatus enum (8 values) plus `incomplete`, which the service sends outside the enum
REFERENCE_STATUSES = {"queued", "in_progress", "requires_action", "cancelling", "cancelled", "failed", "completed",
                      "expired", "incomplete"}


class Sim:
    """A running simulator, its clock, and a client for the connection that reaches it."""

    def __init__(self, server: SimServer, clock: VirtualClock, client: FoundryAgentsClient) -> None:
        self.server, self.clock, self.client = server, clock, client
        self.url = server.url
        self.project = f"{self.url}/api/projects/{PROJECT}"

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_sim/stats", timeout=10).json()

    def faults(self, faults: Any) -> None:
        response = requests.post(f"{self.url}/_sim/faults", json=faults, timeout=10)
        assert response.status_code < 300, response.text

    def outcome(self, outcome: Any, agent: str | None = None) -> None:
        body = {"outcome": outcome, **({"assistantId": agent} if agent else {})}
        response = requests.post(f"{self.url}/_sim/outcomes", json=body, timeout=10)
        assert response.status_code < 300, response.text

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = requests.get(f"{self.project}{path}", params={"api-version": "v1", **params},
                                headers={"Authorization": "Bearer t"}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def messages(self, thread_id: str) -> list[dict[str, Any]]:
        return self.get(f"/threads/{thread_id}/messages", order="asc", limit=100)["data"]


def _start(monkeypatch, settings: dict[str, str] | None = None, **options: Any) -> tuple[SimServer, Sim]:
    monkeypatch.setenv("RUNBRIDGE_LOCAL_CREDENTIAL", "1")
    clock = VirtualClock(EPOCH)
    server = create_server("foundry_agents", clock, port=0, **options)
    url = server.start()
    connection = Connection("foundry-sim", ConnectionType.FOUNDRY_AGENTS,
                            {"endpoint": f"{url}/api/projects/{PROJECT}", **(settings or {})})
    return server, Sim(server, clock, create_client(connection))


@pytest.fixture
def sim(monkeypatch) -> Iterator[Sim]:
    server, handle = _start(monkeypatch)
    try:
        yield handle
    finally:
        server.stop()


@pytest.fixture
def make_sim(monkeypatch) -> Iterator[Any]:
    servers: list[SimServer] = []

    def make(settings: dict[str, str] | None = None, **options: Any) -> Sim:
        server, handle = _start(monkeypatch, settings, **options)
        servers.append(server)
        return handle

    yield make
    for server in servers:
        server.stop()


def agent_request(message: str | None = "hello", agent: str = ECHO_AGENT, thread: str | None = None,
                  run_id: str = "run-1", extra: tuple[Parameter, ...] = ()) -> RunRequest:
    parameters = []
    if message is not None:
        parameters.append(Parameter("user_message", Direction.INPUT, message))
    parameters.append(Parameter("thread_id", Direction.INPUT_OUTPUT, thread))
    parameters.append(Parameter("response", Direction.OUTPUT))
    return RunRequest("foundry_agent", "foundry-sim", agent, (*parameters, *extra), run_id)


def run_to_end(sim: Sim, remote: str, step: float = 1.0, limit: int = 2000):
    for _ in range(limit):
        state = sim.client.get_state(remote)
        if state.status in (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED):
            return state
        sim.clock.advance(step)
    raise AssertionError(f"{remote} did not end")


# -- statuses ----------------------------------------------------------------------------------------


def test_the_status_table_covers_every_status_of_the_reference():
    assert set(STATUS_TABLE) == REFERENCE_STATUSES
    assert STATUS_TABLE["queued"] is RunStatus.STARTING
    assert {STATUS_TABLE[s] for s in ("in_progress", "requires_action", "cancelling")} == {RunStatus.RUNNING}
    assert STATUS_TABLE["completed"] is RunStatus.SUCCESS
    assert {STATUS_TABLE[s] for s in ("failed", "expired", "incomplete")} == {RunStatus.FAILED}
    assert STATUS_TABLE["cancelled"] is RunStatus.CANCELLED


# -- submit --------------------------------------------------------------------------------------------


def test_a_new_thread_gets_message_and_run_in_one_post_tagged_with_the_run_id(sim):
    submitted = sim.client.submit(agent_request("hello"), "run-1")
    thread_id, run_id = split_remote_run_id(submitted.remote_run_id)
    assert submitted.outputs == {"thread_id": thread_id} and submitted.remote_status == "queued"
    stats = sim.stats()
    assert stats["runsCreated"] == 1 and stats["requestsByOperation"]["createThreadAndRun"] == 1
    assert "createThread" not in stats["requestsByOperation"] and "createMessage" not in stats["requestsByOperation"]
    assert sim.get(f"/threads/{thread_id}")["metadata"] == {RUN_ID_TAG: "run-1"}
    assert sim.get(f"/threads/{thread_id}/runs/{run_id}")["metadata"] == {RUN_ID_TAG: "run-1"}
    state = run_to_end(sim, submitted.remote_run_id)
    assert state.status is RunStatus.SUCCESS and state.remote_status == "completed"
    assert state.started_at and state.ended_at and state.error is None
    outputs = sim.client.outputs(submitted.remote_run_id, agent_request("hello"))
    assert outputs == {"response": "You said: hello (message 1 in this thread)", "thread_id": thread_id}


def test_a_given_thread_gets_the_message_as_additional_messages_of_the_run(sim):
    first = sim.client.submit(agent_request("one"), "run-1")
    thread_id = first.outputs["thread_id"]
    run_to_end(sim, first.remote_run_id)
    second = sim.client.submit(agent_request("two", thread=thread_id, run_id="run-2"), "run-2")
    assert second.outputs == {"thread_id": thread_id}
    assert sim.stats()["requestsByOperation"]["createRun"] == 1
    assert run_to_end(sim, second.remote_run_id).status is RunStatus.SUCCESS
    outputs = sim.client.outputs(second.remote_run_id, agent_request("two", thread=thread_id))
    assert outputs["response"] == "You said: two (message 2 in this thread)"
    assert [m["role"] for m in sim.messages(thread_id)] == ["user", "assistant", "user", "assistant"]


def test_a_second_submit_of_the_same_run_finds_the_first(sim):
    first = sim.client.submit(agent_request("hello"), "run-1")
    assert sim.client.submit(agent_request("hello"), "run-1") == first
    thread_id = first.outputs["thread_id"]
    run_to_end(sim, first.remote_run_id)
    on_thread = sim.client.submit(agent_request("again", thread=thread_id, run_id="run-2"), "run-2")
    assert sim.client.submit(agent_request("again", thread=thread_id, run_id="run-2"), "run-2") == on_thread
    assert sim.stats()["runsCreated"] == 2
    assert len(sim.messages(thread_id)) == 3  # one, its answer, again: no duplicate message


def test_a_thread_with_an_active_run_refuses_the_submit_for_good_and_adds_nothing(sim):
    slow = sim.client.submit(agent_request("think", agent=SLOW_AGENT), "run-slow")
    thread_id = slow.outputs["thread_id"]
    sim.clock.advance(30)
    with pytest.raises(PlatformError) as caught:
        sim.client.submit(agent_request("interrupt", thread=thread_id, run_id="run-2"), "run-2")
    assert caught.value.kind is ErrorKind.PERMANENT and caught.value.code == "ThreadBusy"
    assert thread_id in caught.value.message and "active run" in caught.value.message
    assert "when_thread_busy=wait" in caught.value.message  # says how to wait instead
    assert sim.stats()["runsCreated"] == 1 and "createRun" not in sim.stats()["requestsByOperation"]
    assert [m["role"] for m in sim.messages(thread_id)] == ["user"]


def test_with_when_thread_busy_wait_a_busy_thread_is_busy_not_refused_and_frees_up_later(sim):
    slow = sim.client.submit(agent_request("think", agent=SLOW_AGENT), "run-slow")
    thread_id = slow.outputs["thread_id"]
    sim.clock.advance(30)
    waiting = agent_request("later", thread=thread_id, run_id="run-2",
                            extra=(Parameter("when_thread_busy", Direction.INPUT, "Wait"),))
    with pytest.raises(PlatformError) as caught:
        sim.client.submit(waiting, "run-2")
    assert caught.value.kind is ErrorKind.BUSY and caught.value.code == "ThreadBusy"
    assert not caught.value.transient and "active run" in caught.value.message
    assert sim.stats()["runsCreated"] == 1 and [m["role"] for m in sim.messages(thread_id)] == ["user"]
    run_to_end(sim, slow.remote_run_id)
    second = sim.client.submit(waiting, "run-2")
    assert second.outputs == {"thread_id": thread_id} and sim.stats()["runsCreated"] == 2
    assert sim.client.submit(waiting, "run-2") == second  # asked again after the wait: the same run


def test_an_unknown_thread_is_not_found(sim):
    with pytest.raises(PlatformError) as caught:
        sim.client.submit(agent_request(thread="thread_doesnotexist0000000000", run_id="r"), "r")
    assert caught.value.kind is ErrorKind.NOT_FOUND and "thread_doesnotexist" in caught.value.message


def _post(sim: Sim, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{sim.project}{path}", params={"api-version": "v1"}, json=body,
                             headers={"Authorization": "Bearer t"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_retried_submit_finds_the_run_an_earlier_attempt_made_by_its_tag(sim):
    # an earlier attempt's POST landed, then the activity died before it could answer
    made = _post(sim, "/threads/runs", {"assistant_id": ECHO_AGENT, "metadata": {RUN_ID_TAG: "run-1"},
                                        "thread": {"messages": [{"role": "user", "content": "hello"}],
                                                   "metadata": {RUN_ID_TAG: "run-1"}}})
    _post(sim, "/threads", {"metadata": {RUN_ID_TAG: "someone-else"}})  # a newer thread of another run
    submitted = sim.client.submit(agent_request("hello"), "run-1")
    assert submitted.remote_run_id == f"{made['thread_id']}/{made['id']}"
    assert sim.stats()["runsCreated"] == 1


def test_a_tagged_thread_without_its_run_gets_the_run_and_no_second_message(sim):
    thread = _post(sim, "/threads", {"messages": [{"role": "user", "content": "hello"}],
                                     "metadata": {RUN_ID_TAG: "run-1"}})
    submitted = sim.client.submit(agent_request("hello"), "run-1")
    assert submitted.outputs == {"thread_id": thread["id"]}
    run_to_end(sim, submitted.remote_run_id)
    assert [m["role"] for m in sim.messages(thread["id"])] == ["user", "assistant"]
    outputs = sim.client.outputs(submitted.remote_run_id, agent_request("hello"))
    assert outputs["response"] == "You said: hello (message 1 in this thread)"


@pytest.mark.parametrize("status", [None, 504])
def test_a_create_thread_and_run_that_times_out_after_acting_is_not_sent_twice(sim, status):
    fault = {"kind": "apply_then_timeout", "operation": "createThreadAndRun", "seconds": 0}
    sim.faults({**fault, **({"status": status} if status else {})})
    submitted = sim.client.submit(agent_request("once"), "run-1")
    stats = sim.stats()
    assert stats["faultsInjected"] == 1
    assert stats["requestsByOperation"]["createThreadAndRun"] == 1 and stats["runsCreated"] == 1
    assert stats["threads"] == 1 and stats["messages"] == 1
    assert submitted.outputs["thread_id"] == split_remote_run_id(submitted.remote_run_id)[0]
    assert run_to_end(sim, submitted.remote_run_id).status is RunStatus.SUCCESS


def test_a_create_run_on_a_thread_that_times_out_after_acting_is_not_sent_twice(sim):
    first = sim.client.submit(agent_request("one"), "run-1")
    thread_id = first.outputs["thread_id"]
    run_to_end(sim, first.remote_run_id)
    sim.faults({"kind": "apply_then_timeout", "operation": "createRun", "seconds": 0})
    second = sim.client.submit(agent_request("two", thread=thread_id, run_id="run-2"), "run-2")
    stats = sim.stats()
    assert stats["requestsByOperation"]["createRun"] == 1 and stats["runsCreated"] == 2
    assert [m["role"] for m in sim.messages(thread_id)] == ["user", "assistant", "user"]
    run_to_end(sim, second.remote_run_id)
    outputs = sim.client.outputs(second.remote_run_id, agent_request("two", thread=thread_id))
    assert outputs["response"] == "You said: two (message 2 in this thread)"


def test_a_post_refused_with_a_5xx_that_made_nothing_is_sent_again_after_looking(sim):
    sim.faults({"kind": "server_error", "operation": "createThreadAndRun"})
    submitted = sim.client.submit(agent_request("hello"), "run-1")
    stats = sim.stats()
    assert stats["requestsByOperation"]["createThreadAndRun"] == 2 and stats["runsCreated"] == 1
    assert stats["requestsByOperation"]["listThreads"] == 2  # before the first POST, and after the 500
    assert run_to_end(sim, submitted.remote_run_id).status is RunStatus.SUCCESS


def test_a_throttled_post_goes_up_with_its_retry_after_and_made_nothing(sim):
    sim.faults({"kind": "throttle", "operation": "createThreadAndRun", "retryAfter": 7})
    with pytest.raises(PlatformError) as caught:
        sim.client.submit(agent_request("hello"), "run-1")
    assert caught.value.kind is ErrorKind.THROTTLED and caught.value.retry_after == 7 and caught.value.transient
    assert sim.stats()["runsCreated"] == 0
    sim.client.submit(agent_request("hello"), "run-1")  # the orchestrator's retry, later
    assert sim.stats()["runsCreated"] == 1


# -- poll, cancel, outcomes ----------------------------------------------------------------------------


def test_requires_action_asks_the_loop_to_cancel_naming_the_tool_calls(sim):
    submitted = sim.client.submit(agent_request("where is order 42", agent=TOOLS_AGENT), "run-1")
    state = sim.client.get_state(submitted.remote_run_id)
    while state.remote_status != "requires_action":
        sim.clock.advance(1)
        state = sim.client.get_state(submitted.remote_run_id)
    assert state.status is RunStatus.RUNNING and state.error_code is ErrorCode.REQUIRES_ACTION
    assert "lookup_order" in state.error and "cannot execute" in state.error
    sim.client.cancel(submitted.remote_run_id)
    assert sim.client.get_state(submitted.remote_run_id).remote_status == "cancelling"
    final = run_to_end(sim, submitted.remote_run_id)
    assert final.status is RunStatus.CANCELLED and final.remote_status == "cancelled" and final.ended_at
    assert sim.stats()["cancelsRequested"] == 1 and sim.stats()["activeRuns"] == 0


def test_cancelling_a_run_that_already_ended_is_not_an_error(sim):
    submitted = sim.client.submit(agent_request("hello"), "run-1")
    run_to_end(sim, submitted.remote_run_id)
    sim.client.cancel(submitted.remote_run_id)
    assert sim.client.get_state(submitted.remote_run_id).status is RunStatus.SUCCESS


@pytest.mark.parametrize(
    ("outcome", "code", "words"),
    [
        ("rate_limit", ErrorCode.RATE_LIMITED, ["rate_limit_exceeded", "Rate limit is exceeded"]),
        ("fail", None, ["server_error", "Sorry, something went wrong."]),
        ("incomplete", None, ["incomplete", "max_completion_tokens"]),
        ("expire", None, ["expired", "ten minutes"]),
    ],
)
def test_failed_expired_and_incomplete_runs_fail_with_the_platforms_details(sim, outcome, code, words):
    sim.outcome(outcome)
    submitted = sim.client.submit(agent_request("hello"), "run-1")
    state = run_to_end(sim, submitted.remote_run_id, step=5)
    assert state.status is RunStatus.FAILED and state.error_code is code
    assert all(word in state.error for word in words), state.error
    assert state.ended_at or outcome == "incomplete"  # §2: a run has no incomplete_at; the loop dates the end


def test_an_unknown_run_is_failed_not_found(sim):
    first = sim.client.submit(agent_request("hello"), "run-1")
    thread_id = first.outputs["thread_id"]
    state = sim.client.get_state(f"{thread_id}/run_nosuchrun000000000000000000")
    assert state.status is RunStatus.FAILED and state.error_code is ErrorCode.NOT_FOUND


def test_a_throttled_poll_goes_up_as_transient_with_retry_after(sim):
    submitted = sim.client.submit(agent_request("hello"), "run-1")
    sim.faults({"kind": "throttle", "operation": "getRun", "retryAfter": 5})
    with pytest.raises(PlatformError) as caught:
        sim.client.get_state(submitted.remote_run_id)
    assert caught.value.kind is ErrorKind.THROTTLED and caught.value.retry_after == 5
    assert sim.client.get_state(submitted.remote_run_id).status in (RunStatus.STARTING, RunStatus.RUNNING)


# -- outputs -------------------------------------------------------------------------------------------


def test_the_response_is_every_text_block_of_the_runs_assistant_messages_in_order(sim):
    sim.outcome("multi")
    submitted = sim.client.submit(agent_request("forecast?"), "run-1")
    run_to_end(sim, submitted.remote_run_id)
    kept = sim.client.outputs(submitted.remote_run_id, agent_request("forecast?"))["response"]
    assert kept == "The forecast for tomorrow is sunny【4:0†source】.\n\nThe chart above shows the week ahead."
    strip = (Parameter("strip_annotations", Direction.INPUT, "true"),)
    stripped = sim.client.outputs(submitted.remote_run_id, agent_request("forecast?", extra=strip))["response"]
    assert stripped == "The forecast for tomorrow is sunny.\n\nThe chart above shows the week ahead."


def test_the_response_leaves_out_user_messages_and_other_runs():
    messages = [{"role": "user", "content": [{"type": "text", "text": {"value": "q", "annotations": []}}]},
                {"role": "assistant", "content": [{"type": "image_file", "image_file": {"file_id": "f"}},
                                                  {"type": "text", "text": {"value": "a", "annotations": []}},
                                                  {"type": "text", "text": {"value": "b", "annotations": []}}]}]
    assert answer_text(messages) == "a\nb"
    assert answer_text([]) == ""


# -- check_request ------------------------------------------------------------------------------------


def test_check_request_accepts_a_good_request_and_names_the_wrong_field(sim):
    sim.client.check_request(agent_request("hello"))
    cases = [
        (agent_request(agent="asst_nosuchagent000000000000"), "job"),
        (agent_request(extra=(Parameter("temperature", Direction.INPUT, "1"),)), "parameters[3].name"),
        (agent_request(message=None), "parameters"),
        (agent_request(message=""), "parameters[0].value"),
        (agent_request(thread="thread_doesnotexist0000000000"), "parameters[1].value"),
        (agent_request(thread="../assistants"), "parameters[1].value"),
        (agent_request(extra=(Parameter("strip_annotations", Direction.INPUT, "maybe"),)), "parameters[3].value"),
        (agent_request(extra=(Parameter("when_thread_busy", Direction.INPUT, "cancel"),)), "parameters[3].value"),
        (agent_request(extra=(Parameter("when_thread_busy", Direction.OUTPUT),)), "parameters[3].direction"),
        (RunRequest("foundry_agent", "foundry-sim", ECHO_AGENT,
                    (Parameter("user_message", Direction.OUTPUT),), "r"), "parameters[0].direction"),
    ]
    for request, field in cases:
        with pytest.raises(ValidationError) as caught:
            sim.client.check_request(request)
        assert caught.value.field == field, (field, caught.value)
    with pytest.raises(ValidationError) as caught:
        sim.client.check_request(agent_request(agent="asst_nosuchagent000000000000"))
    assert caught.value.code == "NotFound"


def test_an_empty_thread_id_starts_a_new_thread(sim):
    submitted = sim.client.submit(agent_request("hello", thread=""), "run-1")
    assert submitted.outputs["thread_id"].startswith("thread_")


# -- discovery ----------------------------------------------------------------------------------------


def test_discovery_pages_through_every_classic_agent(make_sim):
    sim = make_sim(extra_agents=250)
    jobs, token, pages = [], None, 0
    while True:
        page = sim.client.list_jobs(token)
        jobs += page.jobs
        pages += 1
        token = page.next_page
        if token is None:
            break
    assert pages == 3 and len(jobs) == 253 and len({j.job for j in jobs}) == 253
    assert sim.stats()["requestsByOperation"]["listAgents"] == 3
    echo = next(j for j in jobs if j.job == ECHO_AGENT)
    assert echo.display_name == "echo" and echo.description and echo.properties["model"]
    assert [(p.name, p.direction) for p in echo.parameters][:3] == [
        ("user_message", "Input"), ("thread_id", "InputOutput"), ("response", "Output")]
    assert echo.to_dict()["properties"]["model"] == echo.properties["model"]


def test_a_project_with_only_new_api_agents_says_so(make_sim):
    sim = make_sim(classic_agents=False, new_agents=2)
    with pytest.raises(PlatformError) as caught:
        sim.client.list_jobs()
    assert caught.value.code == "NoClassicAgents" and "new-agent-1" in caught.value.message
    assert "not reachable" in caught.value.message
    empty = make_sim(classic_agents=False)
    assert empty.client.list_jobs().jobs == []


# -- connection: api-version, auth, monitor link -------------------------------------------------------


def test_the_connections_api_version_goes_on_every_call(make_sim):
    sim = make_sim({"apiVersion": "2025-05-01"})
    sim.client.check_request(agent_request("hello"))
    wrong = make_sim({"apiVersion": "2024-01-01"})
    with pytest.raises(PlatformError) as caught:
        wrong.client.check_request(agent_request("hello"))
    assert caught.value.kind is ErrorKind.PERMANENT and "Unsupported api version '2024-01-01'" in caught.value.message


def test_a_401_says_what_it_means_on_this_platform(sim):
    connection = sim.client.connection

    def client_with(headers: dict[str, str]) -> FoundryAgentsClient:
        return FoundryAgentsClient(connection, HttpClient(connection.settings["endpoint"], auth=lambda: headers,
                                                          retry=IN_ACTIVITY, error_parser=error_parser))

    with pytest.raises(PlatformError) as caught:
        client_with({"Authorization": f"Bearer {FORBIDDEN_TOKEN}"}).list_jobs()
    assert caught.value.kind is ErrorKind.AUTH and caught.value.code == "PermissionDenied"
    assert "Azure AI User" in caught.value.message
    with pytest.raises(PlatformError) as caught:
        client_with({"api-key": "a-key"}).list_jobs()
    assert caught.value.kind is ErrorKind.AUTH and "API keys are refused" in caught.value.message
    assert "a-key" not in str(caught.value)


def test_the_monitor_link_is_the_projects_agents_page(make_sim):
    arm_id = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
              "Microsoft.CognitiveServices/accounts/acct/projects/proj")
    sim = make_sim({"projectResourceId": arm_id, "tenantId": "11111111-1111-1111-1111-111111111111"})
    submitted = sim.client.submit(agent_request("hello"), "run-1")
    assert submitted.monitor_url == (
        "https://ai.azure.com/resource/agentsList?wsid=%2Fsubscriptions%2F00000000-0000-0000-0000-000000000000"
        "%2FresourceGroups%2Frg%2Fproviders%2FMicrosoft.CognitiveServices%2Faccounts%2Facct%2Fprojects%2Fproj"
        "&tid=11111111-1111-1111-1111-111111111111")
    plain = make_sim()
    assert plain.client.monitor_url("thread_x/run_y") == "https://ai.azure.com/"
