"""Foundry Agent Service simulator, the API surface: auth, api-version, ids, agents, threads, messages,
lists and errors, checked on the wire against foundry-agents.md (§ numbers point into it).

This module also holds the `Project` helper and the `foundry`/`project`/`make_project` fixtures the
other `test_foundry_agents_*` modules import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devkit.clock import VirtualClock
from simulators.faults import FaultInjector
from simulators.foundry_agents import (
    ECHO_AGENT,
    EXPIRED_TOKEN,
    FORBIDDEN_TOKEN,
    PROJECT,
    READ_ONLY_TOKEN,
    SLOW_AGENT,
    TOOLS_AGENT,
    create,
)
from simulators.server import SimServer

API_VERSION = "v1"
ID = {prefix: re.compile(rf"^{prefix}_[A-Za-z0-9]{{24}}$") for prefix in ("asst", "thread", "msg", "run", "call")}
ERROR_KEYS = {"code", "message", "type", "param"}


class Project:
    """URLs and the calls most Foundry tests make, against one simulator."""

    def __init__(self, server: SimServer, http: requests.Session) -> None:
        self.server = server
        self.http = http
        self.base = f"{server.url}/api/projects/{PROJECT}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.base + path, params={"api-version": API_VERSION, **params})

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.http.post(self.base + path, params={"api-version": API_VERSION}, json=body, **kwargs)

    def delete(self, path: str) -> requests.Response:
        return self.http.delete(self.base + path, params={"api-version": API_VERSION})

    @staticmethod
    def ok(response: requests.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()

    def thread(self, *texts: str) -> str:
        """A new thread holding these user messages; its id."""
        messages = [{"role": "user", "content": text} for text in texts]
        return self.ok(self.post("/threads", {"messages": messages}))["id"]

    def start(self, text: str, assistant: str = ECHO_AGENT, **body: Any) -> dict[str, Any]:
        """`POST /threads/runs`: a new thread with one user message and a run (§3)."""
        thread = {"messages": [{"role": "user", "content": text}]}
        return self.ok(self.post("/threads/runs", {"assistant_id": assistant, "thread": thread, **body}))

    def run(self, run: dict[str, Any]) -> dict[str, Any]:
        return self.ok(self.get(f"/threads/{run['thread_id']}/runs/{run['id']}"))

    def status(self, run: dict[str, Any]) -> str:
        return self.run(run)["status"]

    def messages(self, thread_id: str, **params: Any) -> list[dict[str, Any]]:
        return self.ok(self.get(f"/threads/{thread_id}/messages", **params))["data"]

    def answer(self, run: dict[str, Any]) -> list[str]:
        """What a client reads (client item 7): the run's assistant texts, oldest first."""
        data = self.messages(run["thread_id"], run_id=run["id"], order="asc")
        return [
            block["text"]["value"]
            for message in data
            if message["role"] == "assistant"
            for block in message["content"]
            if block["type"] == "text"
        ]

    def sim(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.server.url}/_sim/{path}", **kwargs)

    def stats(self) -> dict[str, Any]:
        return self.sim("GET", "stats").json()


@pytest.fixture
def foundry(clock: VirtualClock) -> Iterator[SimServer]:
    with SimServer(create(clock), faults=FaultInjector(seed=1)) as server:
        yield server


@pytest.fixture
def project(foundry: SimServer, http: requests.Session) -> Project:
    return Project(foundry, http)


@pytest.fixture
def make_project(clock: VirtualClock, http: requests.Session) -> Iterator[Any]:
    """A factory of projects with platform options (e.g. extra_agents=25); stopped at teardown."""
    servers: list[SimServer] = []

    def make(**options: Any) -> Project:
        server = SimServer(create(clock, **options), faults=FaultInjector(seed=1))
        servers.append(server)
        server.start()
        return Project(server, http)

    yield make
    for server in servers:
        server.stop()


def _error(response: requests.Response, status: int) -> dict[str, Any]:
    """§4: an AgentV1Error with all four inner fields present."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS
    return error


# -- agents and the list shape ---------------------------------------------------------------------


def test_seeded_agents_are_listed_newest_first_as_assistants(project, clock):
    body = project.ok(project.get("/assistants"))
    assert set(body) == {"object", "data", "first_id", "last_id", "has_more"}  # item 4: all five
    assert body["object"] == "list"
    assert [agent["id"] for agent in body["data"]] == [SLOW_AGENT, TOOLS_AGENT, ECHO_AGENT]
    assert (body["first_id"], body["last_id"], body["has_more"]) == (SLOW_AGENT, ECHO_AGENT, False)
    for agent in body["data"]:
        assert ID["asst"].match(agent["id"])
        assert agent["object"] == "assistant"
        assert isinstance(agent["created_at"], int) and agent["created_at"] < clock.now().timestamp()
        assert {
            "name",
            "description",
            "model",
            "instructions",
            "tools",
            "tool_resources",
            "temperature",
            "top_p",
            "response_format",
            "metadata",
        } <= set(agent)
    tools = body["data"][1]["tools"]
    assert tools[0]["type"] == "function" and tools[0]["function"]["name"] == "lookup_order"


def test_an_agent_created_through_the_api_is_200_and_can_be_read_updated_and_deleted(project, clock):
    created = project.post("/assistants", {"model": "gpt-4o", "name": None, "instructions": "Be brief."})
    agent = project.ok(created)  # §1: 200, not 201
    assert ID["asst"].match(agent["id"])
    assert agent["created_at"] == int(clock.now().timestamp())
    assert (agent["name"], agent["model"], agent["tools"], agent["metadata"]) == (None, "gpt-4o", [], {})
    assert project.ok(project.get(f"/assistants/{agent['id']}")) == agent
    updated = project.ok(project.post(f"/assistants/{agent['id']}", {"name": "brief", "metadata": {"k": "v"}}))
    assert (updated["name"], updated["metadata"], updated["instructions"]) == ("brief", {"k": "v"}, "Be brief.")
    deleted = project.ok(project.delete(f"/assistants/{agent['id']}"))
    assert deleted == {"id": agent["id"], "object": "assistant.deleted", "deleted": True}
    error = _error(project.get(f"/assistants/{agent['id']}"), 404)
    assert error["message"] == f"No assistant found with id '{agent['id']}'."


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "no model"}, "model"),
        ({"model": "gpt-4o", "tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
        ({"model": "gpt-4o", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"model": "gpt-4o", "temperature": 3}, "temperature"),
        ({"model": "gpt-4o", "metadata": {"sim.outcome": "nonsense"}}, "metadata.sim.outcome"),
    ],
)
def test_invalid_agent_bodies_are_400_naming_the_parameter(project, body, param):
    error = _error(project.post("/assistants", body), 400)
    assert (error["type"], error["param"]) == ("invalid_request_error", param)


def test_lists_page_with_limit_and_after_until_has_more_is_false(make_project):
    project = make_project(extra_agents=25)
    first = project.ok(project.get("/assistants"))
    assert (len(first["data"]), first["has_more"]) == (20, True)  # §1: default limit 20, the mismatch
    seen = [agent["id"] for agent in first["data"]]
    body = first
    while body["has_more"]:
        body = project.ok(project.get("/assistants", limit=3, after=body["last_id"]))
        assert body["first_id"] == body["data"][0]["id"] and body["last_id"] == body["data"][-1]["id"]
        seen += [agent["id"] for agent in body["data"]]
    assert len(seen) == len(set(seen)) == 28
    assert seen[-1] == ECHO_AGENT  # desc: the oldest last
    ascending = project.ok(project.get("/assistants", order="asc", limit=100))["data"]
    assert [agent["id"] for agent in ascending] == seen[::-1]
    before = project.ok(project.get("/assistants", order="asc", before=seen[0], limit=2))
    assert [agent["id"] for agent in before["data"]] == seen[2:0:-1]  # the two just before the cursor
    assert before["has_more"] is True


def test_an_empty_page_has_null_first_and_last_id(project):
    threads = project.ok(project.get("/threads"))
    assert threads == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    past_the_end = project.ok(project.get("/assistants", after=ECHO_AGENT))
    assert (past_the_end["data"], past_the_end["last_id"], past_the_end["has_more"]) == ([], None, False)


@pytest.mark.parametrize(
    ("params", "param", "text"),
    [
        ({"limit": "0"}, "limit", "Expected a value >= 1"),
        ({"limit": "101"}, "limit", "Expected a value <= 100"),
        ({"limit": "ten"}, "limit", "expected an integer"),
        ({"order": "newest"}, "order", "Supported values are: 'asc' and 'desc'"),
        ({"after": "asst_nope"}, "after", "asst_nope"),
    ],
)
def test_bad_list_parameters_are_400(project, params, param, text):
    error = _error(project.get("/assistants", **params), 400)
    assert error["param"] == param
    assert text in error["message"]


# -- api-version, auth, project --------------------------------------------------------------------


def test_api_version_is_required_and_must_be_supported(project):
    missing = project.http.get(f"{project.base}/assistants")
    error = _error(missing, 400)
    assert (error["code"], error["message"]) == ("BadRequest", "Missing required query parameter: api-version")
    wrong = project.http.get(f"{project.base}/threads", params={"api-version": "2024-07-01-preview"})
    error = _error(wrong, 400)
    assert error["code"] == "UnsupportedApiVersionValue"
    assert error["message"] == (  # §1, item 1
        "Unsupported api version '2024-07-01-preview'. "
        "The supported versions are 'v1', '2025-05-01', '2025-05-15-preview'"
    )
    for version in ("v1", "2025-05-01", "2025-05-15-preview"):
        assert project.http.get(f"{project.base}/assistants", params={"api-version": version}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "text"),
    [
        ({}, "'Authorization' header is missing"),
        ({"Authorization": "Basic dXNlcg=="}, "must be 'Bearer <token>'"),
        ({"api-key": "0123456789abcdef"}, "invalid subscription key"),  # §4: keys are refused
        ({"Authorization": f"Bearer {EXPIRED_TOKEN}"}, "expired"),
    ],
)
def test_without_a_valid_bearer_token_the_answer_is_401(project, headers, text):
    response = requests.get(f"{project.base}/assistants", params={"api-version": API_VERSION}, headers=headers)
    error = _error(response, 401)
    assert text in error["message"]
    assert project.stats()["requestsByOperation"] == {"listAgents": 1}


def test_an_api_key_can_be_accepted_when_configured(make_project):
    project = make_project(accept_api_key=True)
    response = requests.get(f"{project.base}/assistants", params={"api-version": API_VERSION}, headers={"api-key": "k"})
    assert response.status_code == 200


def test_a_principal_without_the_role_gets_401_permission_denied_naming_the_data_action(project):
    headers = {"Authorization": f"Bearer {FORBIDDEN_TOKEN}"}
    error = _error(
        project.http.get(f"{project.base}/assistants/{ECHO_AGENT}", params={"api-version": "v1"}, headers=headers), 401
    )  # §4: 401, not 403
    assert error["code"] == "PermissionDenied"
    assert (
        "lacks the required data action Microsoft.CognitiveServices/accounts/AIServices/agents/read"
        in (error["message"])
    )
    assert "GET /api/projects/{projectName}/assistants/{assistantId} operation" in error["message"]


def test_a_reader_may_get_but_not_post(project):
    headers = {"Authorization": f"Bearer {READ_ONLY_TOKEN}"}
    assert project.http.get(f"{project.base}/assistants", params={"api-version": "v1"}, headers=headers).ok
    refused = project.http.post(f"{project.base}/threads", params={"api-version": "v1"}, headers=headers)
    error = _error(refused, 401)
    assert error["code"] == "PermissionDenied"
    assert "agents/write to perform POST /api/projects/{projectName}/threads operation" in error["message"]
    assert project.stats()["threads"] == 0


def test_an_unknown_project_or_path_is_404_and_a_wrong_method_405(project):
    other = project.http.get(project.base.replace(PROJECT, "other") + "/assistants", params={"api-version": "v1"})
    assert _error(other, 404)["code"] == "NotFound"
    nowhere = project.get("/vector_stores")
    assert _error(nowhere, 404)["code"] == "NotFound"
    wrong = project.http.put(f"{project.base}/threads", params={"api-version": "v1"})
    assert _error(wrong, 405)["code"] == "MethodNotAllowed"
    assert wrong.headers["Allow"] == "GET, POST"


# -- threads and messages --------------------------------------------------------------------------


def test_threads_are_created_from_an_empty_body_or_with_messages(project, clock):
    empty = project.http.post(f"{project.base}/threads", params={"api-version": "v1"}, data=b"")  # QS-REST
    thread = project.ok(empty)
    assert ID["thread"].match(thread["id"])
    assert thread == {
        "id": thread["id"],
        "object": "thread",
        "created_at": int(clock.now().timestamp()),
        "tool_resources": None,
        "metadata": {},
    }
    assert project.ok(project.post("/threads", {}))["object"] == "thread"
    with_messages = project.thread("first", "second")
    texts = [m["content"][0]["text"]["value"] for m in project.messages(with_messages)]
    assert texts == ["second", "first"]  # default order desc
    deleted = project.ok(project.delete(f"/threads/{with_messages}"))
    assert deleted == {"id": with_messages, "object": "thread.deleted", "deleted": True}
    assert _error(project.get(f"/threads/{with_messages}"), 404)["message"] == (
        f"No thread found with id '{with_messages}'."
    )


def test_a_posted_message_has_the_thread_message_shape(project, clock):
    thread = project.thread()
    content = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    message = project.ok(project.post(f"/threads/{thread}/messages", {"role": "user", "content": content}))
    assert ID["msg"].match(message["id"])
    now = int(clock.now().timestamp())
    assert message == {
        "id": message["id"],
        "object": "thread.message",
        "created_at": now,
        "thread_id": thread,
        "status": "completed",
        "incomplete_details": None,
        "completed_at": now,
        "incomplete_at": None,
        "role": "user",
        "content": [
            {"type": "text", "text": {"value": "What is in this picture?", "annotations": []}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ],
        "assistant_id": None,
        "run_id": None,
        "attachments": None,
        "metadata": {},
    }
    assert project.ok(project.get(f"/threads/{thread}/messages/{message['id']}")) == message


@pytest.mark.parametrize(
    ("body", "param", "text"),
    [
        ({"role": "system", "content": "hi"}, "role", "Supported values are: 'user' and 'assistant'."),
        ({"role": "user"}, "content", "Missing required parameter: 'content'."),
        ({"role": "user", "content": ""}, "content", "empty string"),
        ({"role": "user", "content": [{"type": "audio"}]}, "content[0].type", "'audio'"),
    ],
)
def test_invalid_messages_are_400(project, body, param, text):
    thread = project.thread()
    error = _error(project.post(f"/threads/{thread}/messages", body), 400)
    assert (error["param"], error["type"]) == (param, "invalid_request_error")
    assert text in error["message"]
    assert project.messages(thread) == []


def test_unknown_ids_are_404_including_a_run_of_another_thread(project):
    run = project.start("hi")
    other = project.thread()
    assert _error(project.get(f"/threads/{other}/runs/{run['id']}"), 404)["message"] == (
        f"No run found with id '{run['id']}'."
    )
    assert _error(project.get(f"/threads/{other}/messages/msg_nope"), 404)["message"] == (
        "No message found with id 'msg_nope'."
    )
    refused = project.post(f"/threads/{other}/runs", {"assistant_id": "asst_missing"})
    assert _error(refused, 404)["message"] == "No assistant found with id 'asst_missing'."
    assert _error(project.post("/threads/thread_nope/runs", {"assistant_id": ECHO_AGENT}), 404)


# -- the new agents API (§0) -----------------------------------------------------------------------


def test_the_new_agents_api_is_distinct_from_assistants(make_project):
    plain = make_project()
    assert plain.ok(plain.get("/agents"))["data"] == []
    project = make_project(classic_agents=False, new_agents=["helpdesk", "triage"])
    assert project.ok(project.get("/assistants"))["data"] == []  # new-portal agents are invisible here
    agents = project.ok(project.get("/agents"))
    assert [agent["name"] for agent in agents["data"]] == ["triage", "helpdesk"]
    agent = agents["data"][0]
    assert agent["object"] == "agent" and not agent["id"].startswith("asst_")
    assert agent["versions"]["latest"]["definition"]["kind"] == "prompt"
    assert project.ok(project.get("/agents/helpdesk"))["name"] == "helpdesk"
    refused = project.post("/threads/runs", {"assistant_id": "helpdesk"})
    assert _error(refused, 404)["message"] == "No assistant found with id 'helpdesk'."
