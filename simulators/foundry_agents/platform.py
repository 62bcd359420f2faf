"""The Foundry Agent Service simulator: the classic agents (assistants) data plane of one project.

Faithful to /work/shared/reference/foundry-agents.md ("the reference"); § numbers point into it and
"item N" into its "What a faithful simulator must do" list. Where the reference is silent or [U],
the rule chosen is written where it applies.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from devkit.clock import Clock
from simulators.foundry_agents.catalog import (
    AFTER_TOOL_OUTPUTS,
    API_VERSIONS,
    MODEL,
    OUTCOME_KEY,
    PRESETS,
    PROJECT,
    RUN_EXPIRY_SECONDS,
    SEEDED_AGENTS,
    SEEDED_PRESETS,
    Script,
    parse_script,
)
from simulators.foundry_agents.objects import AGENT_FIELDS, Agent, Message, NewAgent, Thread
from simulators.foundry_agents.runs import ACTIVE, TERMINAL, Outcome, Run, Segment
from simulators.foundry_agents.wire import (
    ApiError,
    body_object,
    check_message,
    check_messages,
    check_metadata,
    check_tools,
    error_body,
    invalid,
    missing,
    new_id,
    not_found,
    page,
    text_block,
    text_of,
)
from simulators.routing import Request, Response, Route
from simulators.server import Platform, bearer_token

BASE = "/api/projects/{projectName}"
FORBIDDEN_TOKEN = "sim-forbidden"
"""A bearer token of a principal without the Azure AI User role: 401 PermissionDenied on every call (§4)."""
READ_ONLY_TOKEN = "sim-read-only"
"""A principal with `agents/read` but not `agents/write`: GETs pass, other calls get 401 PermissionDenied."""
EXPIRED_TOKEN = "sim-expired"
"""A bearer token that is refused as expired (401), so a client's token refresh can be tested."""
PRINCIPAL = "00000000-0000-0000-0000-00000000a9e7"
DATA_ACTION = "Microsoft.CognitiveServices/accounts/AIServices/agents/{action}"  # §4
CODES = {
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
"""AgentV1Error codes of framework errors and faults (§4 gives the shape, not these codes: [U])."""


class FoundryAgentsPlatform(Platform):
    """Project `sim-project` seeded with DESIGN.md's three agents.

    Options: `project` (the project name in the path); `cancel_seconds` (how long a run stays
    cancelling); `run_expiry_seconds` (expires_at - created_at, 600 per §2); `accept_api_key`
    (an `api-key` header authenticates instead of being refused, item 2 "configurable");
    `classic_agents` (False: no seeded assistants, as in a project whose agents were made in the new
    portal, §0); `new_agents` (names, or a count, of new-API agents served on `GET /agents`, item 10);
    `extra_agents` (that many more echo assistants, so agent discovery has to page, §1).
    """

    name = "foundry_agents"
    requires_bearer = False  # auth is checked in `check()`: an api-key header has its own refusal (§4)

    def __init__(
        self,
        clock: Clock,
        *,
        project: str = PROJECT,
        cancel_seconds: float = 3.0,
        run_expiry_seconds: float = RUN_EXPIRY_SECONDS,
        accept_api_key: bool = False,
        classic_agents: bool = True,
        new_agents: Sequence[str] | int = (),
        extra_agents: int = 0,
    ) -> None:
        super().__init__(clock)
        if cancel_seconds < 0 or run_expiry_seconds <= 0 or extra_agents < 0:
            raise ValueError("cancel_seconds, run_expiry_seconds and extra_agents must not be negative")
        self.project = project
        self.cancel_seconds = float(cancel_seconds)
        self.run_expiry = timedelta(seconds=run_expiry_seconds)
        self.accept_api_key = accept_api_key
        self.classic_agents = classic_agents
        count = new_agents if isinstance(new_agents, int) else 0
        self.new_agent_names = [f"new-agent-{i + 1}" for i in range(count)] if count else list(new_agents)
        self.extra_agents = extra_agents
        self._patterns: dict[str, str] = {}
        self.reset()

    # -- state ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Seed the catalog agents as made a week ago; drop threads, scripted outcomes and counters."""
        now = self.clock.now()
        self._seq = 0
        self.agents: dict[str, Agent] = {}
        self.threads: dict[str, Thread] = {}
        self.new_agents: list[NewAgent] = []
        self._pending: list[Run] = []  # runs whose assistant messages are not written yet
        self._scripted: list[dict[str, Any]] = []
        self.runs_created = 0
        self.cancels = 0
        self.tool_outputs = 0
        seeded = list(SEEDED_AGENTS) if self.classic_agents else []
        seeded += [
            {"id": new_id("asst"), "name": f"filler-{i + 1:03d}", "instructions": "Echo the user."}
            for i in range(self.extra_agents)
        ]
        for index, spec in enumerate(seeded):
            created = now - timedelta(days=7) + timedelta(minutes=index)
            fields = {**_fresh(AGENT_FIELDS), "model": MODEL, **{k: v for k, v in spec.items() if k != "id"}}
            self.agents[spec["id"]] = Agent(spec["id"], self._next(), created, fields, SEEDED_PRESETS.get(spec["id"]))
        for index, name in enumerate(self.new_agent_names):
            self.new_agents.append(
                NewAgent(name, self._next(), now - timedelta(days=1) + timedelta(minutes=index), MODEL)
            )

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def stats(self) -> dict[str, Any]:
        now = self.clock.now()
        self._settle(now)
        runs = [run for thread in self.threads.values() for run in thread.runs]
        by_status = Counter(run.status(now) for run in runs)
        active = sum(count for status, count in by_status.items() if status in ACTIVE)
        return {
            "remoteJobsCreated": self.runs_created,
            "runningNow": active,
            "runsCreated": self.runs_created,
            "activeRuns": active,
            "runsByStatus": dict(by_status),
            "threads": len(self.threads),
            "messages": sum(len(thread.messages) for thread in self.threads.values()),
            "agents": len(self.agents),
            "newAgents": len(self.new_agents),
            "cancelsRequested": self.cancels,
            "toolOutputsSubmitted": self.tool_outputs,
            "outcomesPending": sum(entry["times"] for entry in self._scripted),
        }

    # -- routes --------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        # §1's operation table; `/threads/runs` comes before `/threads/{threadId}` (it would match it)
        table = [
            ("GET", "/assistants", "listAgents", self.list_agents),
            ("POST", "/assistants", "createAgent", self.create_agent),
            ("GET", "/assistants/{assistantId}", "getAgent", self.get_agent),
            ("POST", "/assistants/{assistantId}", "updateAgent", self.update_agent),
            ("DELETE", "/assistants/{assistantId}", "deleteAgent", self.delete_agent),
            ("POST", "/threads/runs", "createThreadAndRun", self.create_thread_and_run),
            ("GET", "/threads", "listThreads", self.list_threads),
            ("POST", "/threads", "createThread", self.create_thread),
            ("GET", "/threads/{threadId}", "getThread", self.get_thread),
            ("POST", "/threads/{threadId}", "updateThread", self.update_thread),
            ("DELETE", "/threads/{threadId}", "deleteThread", self.delete_thread),
            ("GET", "/threads/{threadId}/messages", "listMessages", self.list_messages),
            ("POST", "/threads/{threadId}/messages", "createMessage", self.create_message),
            ("GET", "/threads/{threadId}/messages/{messageId}", "getMessage", self.get_message),
            ("POST", "/threads/{threadId}/messages/{messageId}", "updateMessage", self.update_message),
            ("GET", "/threads/{threadId}/runs", "listRuns", self.list_runs),
            ("POST", "/threads/{threadId}/runs", "createRun", self.create_run),
            ("GET", "/threads/{threadId}/runs/{runId}", "getRun", self.get_run),
            ("POST", "/threads/{threadId}/runs/{runId}", "updateRun", self.update_run),
            (
                "POST",
                "/threads/{threadId}/runs/{runId}/submit_tool_outputs",
                "submitToolOutputsToRun",
                self.submit_tool_outputs,
            ),
            ("POST", "/threads/{threadId}/runs/{runId}/cancel", "cancelRun", self.cancel_run),
            # §0: the new agents API on the same endpoint; its agents are no assistants (item 10)
            ("GET", "/agents", "listNewAgents", self.list_new_agents),
            ("GET", "/agents/{agentName}", "getNewAgent", self.get_new_agent),
        ]
        self._patterns = {operation: BASE + path for _, path, operation, _ in table}
        return [
            Route(method, BASE + path, operation, self._serve(handler)) for method, path, operation, handler in table
        ]

    def sim_routes(self) -> list[Route]:
        return [
            Route("GET", "/_sim/outcomes", "_sim.outcomes", self.outcomes_view, auth=False),
            Route("POST", "/_sim/outcomes", "_sim.outcomes.add", self.outcomes_add, auth=False),
            Route("DELETE", "/_sim/outcomes", "_sim.outcomes.clear", self.outcomes_clear, auth=False),
        ]

    def _serve(self, handler: Callable[[Request, datetime], Response]) -> Callable[[Request], Response]:
        """Write the answers of runs that ended by now, then run `handler(request, now)`; ApiError -> its body."""

        def serve(request: Request) -> Response:
            now = self.clock.now()
            self._settle(now)
            try:
                return handler(request, now)
            except ApiError as exc:
                return exc.response()

        return serve

    # -- errors, checks, headers ---------------------------------------------------------------------

    def error_response(self, request: Request | None, status: int, message: str) -> Response:
        kind = "invalid_request_error" if status == 400 else "server_error" if status >= 500 else None
        return Response(status, error_body(message, CODES.get(status), kind))

    def check(self, request: Request) -> Response | None:
        """Bearer auth (§4, item 2), the project, then api-version (§1, item 1)."""
        refusal = self._check_auth(request)
        if refusal is not None:
            return refusal
        if request.params.get("projectName") != self.project:
            # [U]: no documented body for an unknown project
            message = f"Project '{request.params.get('projectName')}' not found."
            return Response(404, error_body(message, "NotFound"))
        version = request.query.get("api-version")
        if not version:
            # [S] azure-sdk-for-js#37435 (same endpoint family): 400 BadRequest with this text
            return Response(400, error_body("Missing required query parameter: api-version", "BadRequest"))
        if version not in API_VERSIONS:
            # §1 item 1 text; code from azure-sdk-for-net#50120 (ErrorCode: UnsupportedApiVersionValue)
            supported = ", ".join(f"'{v}'" for v in API_VERSIONS)
            message = f"Unsupported api version '{version}'. The supported versions are {supported}"
            return Response(400, error_body(message, "UnsupportedApiVersionValue"))
        return None

    def _check_auth(self, request: Request) -> Response | None:
        token = bearer_token(request)
        if token is None:
            if request.header("api-key") is not None:
                if self.accept_api_key:
                    return None
                # §4 [S vscode#172, U]: keys are not accepted on the agents data plane
                message = (
                    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                    "a valid key for an active subscription and use a correct regional API endpoint for your "
                    "resource."
                )
                return Response(401, error_body(message, "401"))
            header = request.header("authorization")
            reason = "is missing" if header is None else "must be 'Bearer <token>'"
            # [U] text: the reference only says 401 AgentV1Error
            message = (
                f"Access denied: the 'Authorization' header {reason}. "
                "Send a Microsoft Entra ID token for the scope https://ai.azure.com/.default."
            )
            return Response(401, error_body(message, "Unauthorized"))
        if token == EXPIRED_TOKEN:
            return Response(401, error_body("Access denied: the access token has expired.", "Unauthorized"))
        if token == FORBIDDEN_TOKEN or (token == READ_ONLY_TOKEN and request.method != "GET"):
            return self._permission_denied(request)
        return None

    def _permission_denied(self, request: Request) -> Response:
        # §4: 401 (not 403) PermissionDenied naming the data action: agents/read for GETs, agents/write otherwise
        action = DATA_ACTION.format(action="read" if request.method == "GET" else "write")
        pattern = self._patterns.get(request.operation, request.path)
        message = (
            f"The principal {PRINCIPAL} lacks the required data action {action} to perform "
            f"{request.method} {pattern} operation."
        )
        return Response(401, error_body(message, "PermissionDenied"))

    def decorate(self, request: Request, response: Response) -> Response:
        # §4 / item 10: a Retry-After in seconds goes with retry-after-ms
        headers = dict(response.headers or {})
        retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        if retry_after is not None and retry_after.isdigit():
            headers["retry-after-ms"] = str(int(retry_after) * 1000)
        return response._replace(headers=headers)

    # -- lookups -------------------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise not_found("assistant", agent_id)
        return agent

    def _thread(self, request: Request) -> Thread:
        thread = self.threads.get(request.params["threadId"])
        if thread is None:
            raise not_found("thread", request.params["threadId"])
        return thread

    def _run(self, request: Request) -> tuple[Thread, Run]:
        # item 9: a run id of another thread is a 404 too
        thread = self._thread(request)
        run = next((run for run in thread.runs if run.id == request.params["runId"]), None)
        if run is None:
            raise not_found("run", request.params["runId"])
        return thread, run

    # -- agents --------------------------------------------------------------------------------------

    def list_agents(self, request: Request, now: datetime) -> Response:
        """§1: paginated; a client that reads one page sees at most 20 agents."""
        agents = sorted(self.agents.values(), key=lambda a: (a.created_at, a.seq))
        return Response(200, page(agents, request.query, lambda a: a.id, Agent.to_wire))

    def create_agent(self, request: Request, now: datetime) -> Response:
        """§1/§2: 200 (not 201) with the agent; `model` is required."""
        body = body_object(request.body)
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise missing("model")
        agent = Agent(new_id("asst"), self._next(), now, _agent_fields(body, _fresh(AGENT_FIELDS)))
        self.agents[agent.id] = agent
        return Response(200, agent.to_wire())

    def get_agent(self, request: Request, now: datetime) -> Response:
        return Response(200, self._agent(request.params["assistantId"]).to_wire())

    def update_agent(self, request: Request, now: datetime) -> Response:
        agent = self._agent(request.params["assistantId"])
        agent.fields = _agent_fields(body_object(request.body), _fresh(agent.fields))
        return Response(200, agent.to_wire())

    def delete_agent(self, request: Request, now: datetime) -> Response:
        agent = self._agent(request.params["assistantId"])
        del self.agents[agent.id]
        return Response(200, {"id": agent.id, "object": "assistant.deleted", "deleted": True})

    # -- threads -------------------------------------------------------------------------------------

    def list_threads(self, request: Request, now: datetime) -> Response:
        threads = sorted(self.threads.values(), key=lambda t: (t.created_at, t.seq))
        return Response(200, page(threads, request.query, lambda t: t.id, Thread.to_wire))

    def create_thread(self, request: Request, now: datetime) -> Response:
        """§2: every field optional; an empty body (QS-REST) or `{}` (SDK) makes an empty thread."""
        body = body_object(request.body, optional=True)
        thread = self._new_thread(body, "", now)
        return Response(200, thread.to_wire())

    def _new_thread(self, options: dict[str, Any], param: str, now: datetime) -> Thread:
        prefix = f"{param}." if param else ""
        messages = check_messages(options.get("messages"), f"{prefix}messages")
        metadata = check_metadata(options.get("metadata"), f"{prefix}metadata")
        thread = Thread(new_id("thread"), self._next(), now, options.get("tool_resources"), metadata)
        self.threads[thread.id] = thread
        for message in messages:
            self._add_message(thread, message, now)
        return thread

    def get_thread(self, request: Request, now: datetime) -> Response:
        return Response(200, self._thread(request).to_wire())

    def update_thread(self, request: Request, now: datetime) -> Response:
        thread = self._thread(request)
        body = body_object(request.body)
        if "metadata" in body:
            thread.metadata = check_metadata(body["metadata"])
        if "tool_resources" in body:
            thread.tool_resources = body["tool_resources"]
        return Response(200, thread.to_wire())

    def delete_thread(self, request: Request, now: datetime) -> Response:
        thread = self._thread(request)
        del self.threads[thread.id]
        self._pending = [run for run in self._pending if run.thread_id != thread.id]
        return Response(200, {"id": thread.id, "object": "thread.deleted", "deleted": True})

    # -- messages ------------------------------------------------------------------------------------

    def list_messages(self, request: Request, now: datetime) -> Response:
        """§1: paginated, default newest first; `run_id` keeps the messages that run wrote."""
        thread = self._thread(request)
        messages = sorted(thread.messages, key=lambda m: (m.created_at, m.seq))
        run_id = request.query.get("run_id")
        if run_id is not None:
            messages = [message for message in messages if message.run_id == run_id]
        return Response(200, page(messages, request.query, lambda m: m.id, Message.to_wire))

    def create_message(self, request: Request, now: datetime) -> Response:
        """§1/§2: 200 with the message; 400 while a run is active on the thread (§4, item 7)."""
        thread = self._thread(request)
        options = check_message(body_object(request.body), "")
        active = thread.active_run(now)
        if active is not None:
            # §4: the OpenAI wording, status 400, code and param null [S/U for Azure]
            raise ApiError(400, f"Can't add messages to {thread.id} while a run {active.id} is active.")
        return Response(200, self._add_message(thread, options, now).to_wire())

    def _add_message(self, thread: Thread, options: dict[str, Any], now: datetime, run: Run | None = None) -> Message:
        message = Message(
            new_id("msg"),
            self._next(),
            now,
            thread.id,
            options["role"],
            options["content"],
            assistant_id=None if run is None else run.assistant_id,
            run_id=None if run is None else run.id,
            attachments=options.get("attachments"),
            metadata=options.get("metadata"),
            incomplete_details=options.get("incomplete_details"),
        )
        thread.messages.append(message)
        return message

    def _message(self, request: Request) -> Message:
        thread = self._thread(request)
        message = next((m for m in thread.messages if m.id == request.params["messageId"]), None)
        if message is None:
            raise not_found("message", request.params["messageId"])
        return message

    def get_message(self, request: Request, now: datetime) -> Response:
        return Response(200, self._message(request).to_wire())

    def update_message(self, request: Request, now: datetime) -> Response:
        message = self._message(request)
        body = body_object(request.body)
        if "metadata" in body:
            message.metadata = check_metadata(body["metadata"])
        return Response(200, message.to_wire())

    # -- runs ----------------------------------------------------------------------------------------

    def list_runs(self, request: Request, now: datetime) -> Response:
        """§1; `limit=1` (newest first) is how clients look for an active run before reusing a thread (§4)."""
        thread = self._thread(request)
        runs = sorted(thread.runs, key=lambda r: (r.created_at, r.seq))
        return Response(200, page(runs, request.query, lambda r: r.id, lambda r: r.to_wire(now)))

    def create_run(self, request: Request, now: datetime) -> Response:
        """§2/§3: 200 with a queued run; `additional_messages` are added first, in the same request.

        Everything is checked before anything changes, so a refused call adds no message.
        """
        thread = self._thread(request)
        body = body_object(request.body)
        agent, overrides = self._run_options(body)
        extra = check_messages(body.get("additional_messages"), "additional_messages")
        active = thread.active_run(now)
        if active is not None:
            # §4: OpenAI wording [S/U for Azure]
            raise ApiError(400, f"Thread {thread.id} already has an active run {active.id}.")
        for message in extra:
            self._add_message(thread, message, now)
        return Response(200, self._start_run(thread, agent, overrides, now).to_wire(now))

    def create_thread_and_run(self, request: Request, now: datetime) -> Response:
        """§3: a new thread with its first messages and a run, in one call; 200 ThreadRun."""
        body = body_object(request.body)
        agent, overrides = self._run_options(body)
        options = body.get("thread")
        if options is not None and not isinstance(options, dict):
            raise invalid("thread", "expected an object.", "invalid_type")
        check_messages((options or {}).get("messages"), "thread.messages")  # all checks before any change
        check_metadata((options or {}).get("metadata"), "thread.metadata")
        thread = self._new_thread(options or {}, "thread", now)
        return Response(200, self._start_run(thread, agent, overrides, now).to_wire(now))

    def _run_options(self, body: dict[str, Any]) -> tuple[Agent, dict[str, Any]]:
        """The agent and the run's settings (agent values, overridden by the body), or a 400/404."""
        assistant_id = body.get("assistant_id")
        if not isinstance(assistant_id, str) or not assistant_id:
            raise missing("assistant_id")
        if body.get("stream"):
            # not modelled: the simulator has no SSE; clients under test poll
            raise ApiError(
                400,
                "The simulator does not stream runs (stream=true); poll the run instead.",
                code="unsupported_parameter",
                param="stream",
            )
        agent = self._agent(assistant_id)
        fields = agent.fields
        tools = check_tools(body["tools"]) if body.get("tools") is not None else list(fields.get("tools") or [])
        instructions = body.get("instructions") or fields.get("instructions")
        if body.get("additional_instructions"):
            instructions = "\n\n".join(filter(None, [instructions, body["additional_instructions"]]))
        truncation = body.get("truncation_strategy") or {"type": "auto", "last_messages": None}
        settings = {
            "model": body.get("model") or fields.get("model"),
            "instructions": instructions,
            "tools": tools,
            "tool_resources": body.get("tool_resources", fields.get("tool_resources")),
            "temperature": body.get("temperature", fields.get("temperature")),
            "top_p": body.get("top_p", fields.get("top_p")),
            "max_prompt_tokens": body.get("max_prompt_tokens"),
            "max_completion_tokens": body.get("max_completion_tokens"),
            "truncation_strategy": truncation,
            "tool_choice": body.get("tool_choice") or "auto",
            "response_format": body.get("response_format", fields.get("response_format")),
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "metadata": check_metadata(body.get("metadata")) or {},
        }
        return agent, settings

    def _start_run(self, thread: Thread, agent: Agent, settings: dict[str, Any], now: datetime) -> Run:
        metadata = settings.pop("metadata")
        script = self._script_for(agent, settings["tools"])
        words = sum(len(text_of(m.content).split()) for m in thread.messages)
        run = Run(
            new_id("run"),
            self._next(),
            thread.id,
            agent.id,
            now,
            now + self.run_expiry,
            settings,
            [Segment(now, script.timeline(), _outcome(script, thread, settings["tools"]))],
            prompt_tokens=words + len((settings["instructions"] or "").split()),
            metadata=metadata,
        )
        thread.runs.append(run)
        self._pending.append(run)
        self.runs_created += 1
        return run

    def _script_for(self, agent: Agent, tools: list[dict[str, Any]]) -> Script:
        """First match: a script queued on /_sim/outcomes, agent metadata `sim.outcome`, the seeded
        agent's preset; else an agent with function tools waits for them (§3), any other echoes."""
        for entry in self._scripted:
            if entry["assistantId"] in (None, agent.id):
                entry["times"] -= 1
                if entry["times"] == 0:
                    self._scripted.remove(entry)
                return entry["script"]
        if OUTCOME_KEY in agent.metadata:
            return parse_script(agent.metadata[OUTCOME_KEY])  # checked when the agent was written
        if agent.preset is not None:
            return PRESETS[agent.preset]
        if any(tool.get("type") == "function" for tool in tools):
            return PRESETS["tools"]
        return PRESETS["echo"]

    def get_run(self, request: Request, now: datetime) -> Response:
        return Response(200, self._run(request)[1].to_wire(now))

    def update_run(self, request: Request, now: datetime) -> Response:
        _, run = self._run(request)
        body = body_object(request.body)
        if "metadata" in body:
            run.metadata = check_metadata(body["metadata"]) or {}
        return Response(200, run.to_wire(now))

    def submit_tool_outputs(self, request: Request, now: datetime) -> Response:
        """§3 item 8: only in requires_action (400 otherwise); one output per tool call; the run goes on."""
        _, run = self._run(request)
        status = run.status(now)
        if status != "requires_action":
            # [U] OpenAI wording
            raise ApiError(400, f'Runs in status "{status}" do not accept tool outputs.')
        body = body_object(request.body)
        outputs = body.get("tool_outputs")
        if not isinstance(outputs, list) or not all(
            isinstance(o, dict) and isinstance(o.get("tool_call_id"), str) for o in outputs
        ):
            raise missing("tool_outputs")
        calls = {call["id"]: call for call in run.outcome.tool_calls}
        given = [output["tool_call_id"] for output in outputs]
        if sorted(given) != sorted(calls):
            raise ApiError(
                400, f"Expected tool outputs for call_ids {sorted(calls)}, got {given}.", param="tool_outputs"
            )
        answer = " ".join(
            f"The tool {calls[o['tool_call_id']]['function']['name']} returned: {o.get('output', '')}" for o in outputs
        )
        run.resume(
            now,
            AFTER_TOOL_OUTPUTS.timeline(),
            Outcome(messages=((text_block(answer),),), completion_tokens=len(answer.split())),
        )
        self.tool_outputs += 1
        return Response(200, run.to_wire(now))

    def cancel_run(self, request: Request, now: datetime) -> Response:
        """§3 item 6: 200 with the run `cancelling`, `cancelled` after `cancel_seconds`.

        A run that ends by itself before the cancel completes keeps its own ending (§3 [U]). A
        terminal run is a 400 (§3 [U]); a run already cancelling answers 200 unchanged, so a client
        retrying a cancel whose answer it lost is not refused (our rule).
        """
        _, run = self._run(request)
        status = run.status(now)
        if status in TERMINAL:
            raise ApiError(400, f"Cannot cancel run with status '{status}'.")
        if status != "cancelling":
            run.cancel(now, self.cancel_seconds)
            self.cancels += 1
        return Response(200, run.to_wire(now))

    # -- run endings ---------------------------------------------------------------------------------

    def _settle(self, now: datetime) -> None:
        """Write the assistant messages of runs that completed (or ended incomplete) by `now`, dated
        when the run ended: lazily, so no thread or sleep moves a run."""
        waiting = []
        for run in self._pending:
            ended = run.ended_at()
            if ended is None or ended > now:
                waiting.append(run)
                continue
            status = run.status(ended)
            thread = self.threads.get(run.thread_id)
            if thread is None or status not in ("completed", "incomplete"):
                continue
            contents = run.outcome.messages
            for index, content in enumerate(contents):
                cut = status == "incomplete" and index == len(contents) - 1
                options = {
                    "role": "assistant",
                    "content": [dict(block) for block in content],
                    # §2: a message cut short says why (the run's reason is max_completion_tokens)
                    "incomplete_details": {"reason": "max_tokens"} if cut else None,
                }
                self._add_message(thread, options, ended, run)
        self._pending = waiting

    # -- new agents API (§0) -------------------------------------------------------------------------

    def list_new_agents(self, request: Request, now: datetime) -> Response:
        kind = request.query.get("kind")
        agents = [] if kind not in (None, "prompt") else self.new_agents
        return Response(200, page(agents, request.query, lambda a: a.name, NewAgent.to_wire))

    def get_new_agent(self, request: Request, now: datetime) -> Response:
        agent = next((a for a in self.new_agents if a.name == request.params["agentName"]), None)
        if agent is None:
            raise ApiError(404, f"Agent '{request.params['agentName']}' not found.", code="NotFound", type=None)
        return Response(200, agent.to_wire())

    # -- /_sim -------------------------------------------------------------------------------------

    def outcomes_view(self, request: Request) -> Response:
        pending = [{k: v for k, v in entry.items() if k != "script"} for entry in self._scripted]
        return Response(200, {"pending": pending, "presets": sorted(PRESETS)})

    def outcomes_add(self, request: Request) -> Response:
        """Queue outcomes for the next runs: `{"outcome": <preset or script>, "assistantId"?, "times"?}`
        or a list of them; the first entry matching a new run's agent (or any agent) is used."""
        body = request.body
        items = body if isinstance(body, list) else [body]
        entries = []
        for item in items:
            if not isinstance(item, dict) or "outcome" not in item:
                raise ValueError('each entry is {"outcome": ..., "assistantId"?: ..., "times"?: n}')
            unknown = set(item) - {"outcome", "assistantId", "times"}
            if unknown:
                raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
            times = item.get("times", 1)
            if not isinstance(times, int) or times < 1:
                raise ValueError("times must be a positive integer")
            entries.append(
                {
                    "assistantId": item.get("assistantId"),
                    "times": times,
                    "outcome": item["outcome"],
                    "script": parse_script(item["outcome"]),
                }
            )
        self._scripted.extend(entries)
        return self.outcomes_view(request)

    def outcomes_clear(self, request: Request) -> Response:
        self._scripted.clear()
        return self.outcomes_view(request)


def _fresh(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value)
        for key, value in fields.items()
    }


def _agent_fields(body: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` updated with the body's Agent fields (§2), each checked; unknown keys are ignored."""
    for key in ("name", "description", "instructions"):
        if key in body and body[key] is not None and not isinstance(body[key], str):
            raise invalid(key, "expected a string.", "invalid_type")
    if "model" in body and (not isinstance(body["model"], str) or not body["model"]):
        raise invalid("model", "expected a non-empty string.", "invalid_type")
    for key, low, high in (("temperature", 0, 2), ("top_p", 0, 1)):
        value = body.get(key)
        if value is not None and (not isinstance(value, (int, float)) or not low <= value <= high):
            raise invalid(key, f"expected a number between {low} and {high}.")
    for key in (
        "name",
        "description",
        "model",
        "instructions",
        "tool_resources",
        "temperature",
        "top_p",
        "response_format",
    ):
        if key in body:
            fields[key] = body[key]
    if "tools" in body:
        fields["tools"] = check_tools(body["tools"]) or []
    if "metadata" in body:
        metadata = check_metadata(body["metadata"]) or {}
        if OUTCOME_KEY in metadata:
            try:
                parse_script(metadata[OUTCOME_KEY])
            except ValueError as exc:
                raise invalid(f"metadata.{OUTCOME_KEY}", str(exc)) from None
        fields["metadata"] = metadata
    return fields


def _outcome(script: Script, thread: Thread, tools: list[dict[str, Any]]) -> Outcome:
    """What a run of `script` on `thread` (as it is now) leaves: the echo answer unless scripted."""
    users = [message for message in thread.messages if message.role == "user"]
    said = text_of(users[-1].content) if users else ""
    answer = f"You said: {said} (message {len(users)} in this thread)"  # DESIGN.md catalog
    messages: tuple[tuple[dict[str, Any], ...], ...] = ()
    if script.ending in ("completed", "incomplete"):
        if script.messages is not None:
            messages = script.messages
        elif script.ending == "incomplete":
            messages = ((text_block(answer[: len(answer) // 2]),),)  # cut short
        else:
            messages = ((text_block(answer),),)
    calls: tuple[dict[str, Any], ...] = ()
    if script.ending == "requires_action":
        wanted = script.tool_calls or (_default_call(tools, said),)
        calls = tuple(
            {"id": new_id("call"), "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in wanted
        )
    words = sum(len(text_of(content).split()) for content in messages)
    return Outcome(
        messages=messages,
        last_error=dict(script.last_error) if script.last_error else None,
        incomplete_details=dict(script.incomplete_details) if script.incomplete_details else None,
        tool_calls=calls,
        completion_tokens=words,
    )


def _default_call(tools: list[dict[str, Any]], said: str) -> dict[str, str]:
    """A call of the first function tool, its first parameter set to the user's message."""
    function = next((t["function"] for t in tools if t.get("type") == "function"), None)
    if function is None:
        return {"name": "sim_function", "arguments": json.dumps({"input": said})}
    properties = (function.get("parameters") or {}).get("properties") or {}
    argument = next(iter(properties), "input")
    return {"name": function["name"], "arguments": json.dumps({argument: said})}


def create(clock: Clock, **options: Any) -> FoundryAgentsPlatform:
    """The registry's factory (`simulators.registry`)."""
    return FoundryAgentsPlatform(clock, **options)
