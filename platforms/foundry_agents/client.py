"""AI Foundry Agent Service, classic agents (assistants) data plane on a project endpoint
(reference/foundry-agents.md, "the reference"; "client N" points into its "What a client must handle").

One run = a user message on a thread (new, or the one the run names) and an agent run on it. The pure
parts (parameters, bodies, texts, the remote run id `<thread_id>/<run_id>`) are in `wire.py`.

Submit without duplicates (issue 6 item 2, client 4 and 9): the message and the run go in ONE POST
(`POST /threads/runs` for a new thread, `POST /threads/{id}/runs` with `additional_messages` for a given
one), tagged with metadata `runbridge.runId`. That POST is never sent twice blind. Before it, and again
after one whose answer was lost (timeout, dropped connection, 5xx), the client looks for what this run
made:
- on a given thread, the thread's newest runs (`GET /threads/{id}/runs`, one page of 100) for the tag;
- for a new thread, which the lost answer would have named, the project's newest threads (`GET /threads`,
  up to THREAD_SCAN_PAGES pages of 100, newest first) for the tag, then that thread's runs. The scan is
  bounded: a thread this run made moments (or one activity retry) ago is among the newest.
A 429 is not reconciled (the platform did nothing) and goes up with its Retry-After.

Where the seed (seeds/foundry-agent-run.txt) differs, the reference wins:
- the seed posts thread, message and run as three POSTs; here one POST carries message and run (§3,
  client 4), so there is no window between them and one call to reconcile;
- the seed waits in requires_action (Running); here the run is cancelled and ends Failed/RequiresAction
  (client 5: there is no tool executor, and the run would only expire after ten minutes);
- the seed reads `content[0].text.value` of the newest message; here it is every text block of this run's
  assistant messages (client 7), which also survives a failed run whose newest message is the prompt;
- the seed lists agents with one GET (at most 20, §1); here every page is read (client 3);
- the seed's monitor link is the ARM account overview; here it is the portal's agents page (§6).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from core.connections import Connection
from core.errors import ValidationError
from core.parameters import Direction
from core.run_request import RunRequest
from core.status import ErrorCode, RunStatus, map_status
from platforms.auth import BearerToken, credential_for
from platforms.base import JobInfo, JobParameter, JobsPage, RemoteState, Submitted
from platforms.http import (
    IN_ACTIVITY,
    ErrorKind,
    HttpClient,
    PlatformError,
    default_error_parser,
    none_if_missing,
)

from .wire import (
    ACTIVE_STATUSES,
    BUSY_CHOICES,
    RESPONSE,
    RUN_ID_TAG,
    STRIP_ANNOTATIONS,
    TERMINAL_STATUSES,
    THREAD_ID,
    USER_MESSAGE,
    WHEN_THREAD_BUSY,
    AgentRun,
    answer_text,
    ended_at,
    failure_text,
    is_active_run_refusal,
    iso_time,
    new_thread_run_body,
    read_run,
    remote_run_id,
    split_remote_run_id,
    tagged,
    thread_index,
    thread_run_body,
    tool_calls_text,
)

log = logging.getLogger("runbridge.foundry_agents")
DEFAULT_API_VERSION = "v1"  # §1: the SDK's default; a connection may set another (apiVersion)
AGENTS_SCOPE = "https://ai.azure.com/.default"  # §4: the only auth the spec declares
PAGE_SIZE = 100  # §1: the largest `limit`
THREAD_SCAN_PAGES = 2  # newest threads searched for this run's tag after a lost create-thread-and-run
SUBMIT_ATTEMPTS = 3
PORTAL = "https://ai.azure.com"

# Every run status of §3, and `incomplete` (sent though outside the spec's enum). queued is Starting as
# for every platform (core.status: "the remote job is queued"), so startTimeout bounds it. requires_action
# is active, but get_state asks the loop to cancel it at once (client 5: no tool executor here).
STATUS_TABLE: Mapping[str, RunStatus] = {
    "queued": RunStatus.STARTING,
    "in_progress": RunStatus.RUNNING,
    "requires_action": RunStatus.RUNNING,
    "cancelling": RunStatus.RUNNING,
    "completed": RunStatus.SUCCESS,
    "failed": RunStatus.FAILED,
    "expired": RunStatus.FAILED,
    "incomplete": RunStatus.FAILED,
    "cancelled": RunStatus.CANCELLED,
}
RATE_LIMIT_CODE = "rate_limit_exceeded"  # §3: model throttling shows as a failed run with this code


class FoundryAgentsClient:
    """One project: start agent runs on threads, poll, cancel, read the answer, list the agents."""

    def __init__(self, connection: Connection, http: HttpClient) -> None:
        self.connection = connection
        self.http = http
        self.api_version = connection.settings.get("apiVersion") or DEFAULT_API_VERSION

    # ---- calls -------------------------------------------------------------------------------
    def _call(self, method: str, path: str, operation: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None) -> Any:
        """One data-plane call, `api-version` always added (§1, client 2); the JSON answer."""
        query = {"api-version": self.api_version, **(params or {})}
        return self.http.request_json(method, path, operation=operation, params=query, json=json)

    def _pages(self, path: str, operation: str, params: Mapping[str, Any] | None = None,
               max_pages: int | None = None) -> Iterator[dict[str, Any]]:
        """Items of a list, page after page (`after=last_id` while `has_more`, §1)."""
        after: str | None = None
        pages = 0
        while True:
            query = {"limit": PAGE_SIZE, **(params or {}), **({"after": after} if after else {})}
            body = self._call("GET", path, operation, params=query)
            data = body.get("data") or []
            yield from data
            pages += 1
            after = body.get("last_id") or (data[-1].get("id") if data else None)
            if not body.get("has_more") or not after or (max_pages is not None and pages >= max_pages):
                return

    def get_agent(self, agent_id: str) -> dict[str, Any] | None:
        """The classic agent, or None when the project has no agent with that id."""
        return none_if_missing(lambda: self._call("GET", f"/assistants/{quote(agent_id, safe='')}", "getAgent"))

    def _get_run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/threads/{thread_id}/runs/{run_id}", "getRun")

    def _thread_runs(self, thread_id: str) -> list[dict[str, Any]]:
        """The thread's newest runs, newest first (one page: this run's, if any, is among them)."""
        try:
            return self._call("GET", f"/threads/{thread_id}/runs", "listRuns",
                              params={"limit": PAGE_SIZE, "order": "desc"}).get("data") or []
        except PlatformError as exc:
            if exc.kind == ErrorKind.NOT_FOUND:
                raise PlatformError(ErrorKind.NOT_FOUND, f"Thread {thread_id} does not exist in this project.",
                                    code="ThreadNotFound", http_status=404, operation="listRuns") from None
            raise

    # ---- verbs -------------------------------------------------------------------------------
    def check_request(self, request: RunRequest) -> None:
        """400-worthy problems: parameters an agent run does not take, no message, no such agent or thread."""
        run = read_run(request)
        if self.get_agent(request.job) is None:
            raise ValidationError("job", "is not an agent (assistant id) of this project", code=ErrorCode.NOT_FOUND)
        if run.thread_id is not None:
            try:
                self._call("GET", f"/threads/{run.thread_id}", "getThread")
            except PlatformError as exc:
                if exc.kind != ErrorKind.NOT_FOUND:
                    raise
                raise ValidationError(f"parameters[{thread_index(request)}].value",
                                      "is not a thread of this project", code=ErrorCode.NOT_FOUND) from None

    def describe(self, job: str) -> JobInfo | None:
        """The agent as discovery lists it (an agent run's parameters), or None when there is none."""
        agent = self.get_agent(job)
        return None if agent is None else self._job_info(agent)

    def submit(self, request: RunRequest, run_id: str) -> Submitted:
        """Post the message and start the run in one call, or find the run this run id already started.

        On a given thread someone else's active run (§4) refuses the submit (client 4): a message must not
        land in the middle of another run. With `when_thread_busy=wait` the refusal is ErrorKind.BUSY (try
        again later; the orchestrator waits), otherwise it is for good.
        """
        run = read_run(request)
        found, thread_id = self._find_own(run_id, run)
        if found is not None:
            return self._submitted(found)
        last: PlatformError | None = None
        for _ in range(SUBMIT_ATTEMPTS):
            try:
                return self._submitted(self._post_run(request.job, run, run_id, thread_id))
            except PlatformError as exc:
                if exc.http_status == 400 and thread_id and is_active_run_refusal(exc.message):
                    found, _ = self._find_own(run_id, run)  # our own earlier POST may hold the thread
                    if found is not None:
                        return self._submitted(found)
                    raise self._busy(thread_id, None, run.wait_for_thread) from None
                if not exc.transient or exc.kind == ErrorKind.THROTTLED:
                    raise  # refused for good, or throttled: nothing was made either way
                last = exc
                found, thread_id = self._find_own(run_id, run)
                if found is not None:
                    log.info("run POST for %s failed (%s) but the run exists: using it", run_id, exc.code)
                    return self._submitted(found)
        assert last is not None
        raise last

    def find(self, request: RunRequest, run_id: str) -> Submitted | None:
        """The run carrying this run id's tag: on the thread the run names, else on the newest tagged thread
        of the project (THREAD_SCAN_PAGES pages); None when there is none. Never refuses a busy thread."""
        thread_id = read_run(request).thread_id or self._find_own_thread(run_id)
        if thread_id is None:
            return None
        own = next((r for r in self._thread_runs(thread_id) if tagged(r, run_id)), None)
        return None if own is None else self._submitted(own)

    def preview(self, request: RunRequest, run_id: str) -> dict[str, Any]:
        """The POST a submit would send first: a new thread and run, or a run with the message on a thread."""
        run = read_run(request)
        path, _, body = _run_post(request.job, run, run_id, run.thread_id)
        return self.http.describe("POST", path, params={"api-version": self.api_version}, json=body)

    def probe(self) -> None:
        """One agent of the project (`limit=1`): the read every run's agent check makes."""
        self._call("GET", "/assistants", "listAgents", params={"limit": 1})

    def get_state(self, remote_run_id: str) -> RemoteState:
        thread_id, run_id = split_remote_run_id(remote_run_id)
        run = none_if_missing(lambda: self._get_run(thread_id, run_id))
        if run is None:
            return RemoteState.vanished(f"Run {run_id} of thread {thread_id}")
        remote = run.get("status")
        status = map_status(STATUS_TABLE, remote)
        started = iso_time(run.get("started_at"))
        if remote == "requires_action":
            return RemoteState(status, remote, started_at=started, error=tool_calls_text(run),
                               error_code=ErrorCode.REQUIRES_ACTION)
        if status is RunStatus.FAILED:
            code = ErrorCode.RATE_LIMITED if (run.get("last_error") or {}).get("code") == RATE_LIMIT_CODE else None
            return RemoteState(status, remote, started_at=started, ended_at=ended_at(run),
                               error=self.http.redact(failure_text(run)), error_code=code)
        return RemoteState(status, remote, started_at=started, ended_at=ended_at(run))

    def cancel(self, remote_run_id: str) -> None:
        """POST cancel (§3: 200 with the run `cancelling`); a run that already ended is not an error."""
        thread_id, run_id = split_remote_run_id(remote_run_id)
        try:
            self._call("POST", f"/threads/{thread_id}/runs/{run_id}/cancel", "cancelRun")
        except PlatformError as exc:
            if exc.http_status != 400:
                raise
            # §3 [U]: cancelling a run that ended (or ends meanwhile) is a 400; the poll will see its end
            if self._get_run(thread_id, run_id).get("status") not in TERMINAL_STATUSES | {"cancelling"}:
                raise

    def outputs(self, remote_run_id: str, request: RunRequest) -> dict[str, str]:
        """`response`: the text of this run's assistant messages; `thread_id`: the thread used (client 7)."""
        thread_id, run_id = split_remote_run_id(remote_run_id)
        strip = read_run(request).strip_annotations
        messages = self._pages(f"/threads/{thread_id}/messages", "listMessages",
                               params={"run_id": run_id, "order": "asc"})
        return {RESPONSE: answer_text(messages, strip), THREAD_ID: thread_id}

    def monitor_url(self, remote_run_id: str | None = None) -> str:
        """The portal's agents page of the project (§6); the reference knows no per-thread or per-run link.

        `wsid` is the project's ARM id (connection setting projectResourceId) and `tid` its tenant; without
        the ARM id the link is the portal's home page, where the project can be picked.
        """
        s = self.connection.settings
        query = []
        if s.get("projectResourceId"):
            query.append(f"wsid={quote(s['projectResourceId'], safe='')}")
        if s.get("tenantId"):
            query.append(f"tid={quote(s['tenantId'], safe='')}")
        if s.get("projectResourceId"):
            return f"{PORTAL}/resource/agentsList?" + "&".join(query)
        return f"{PORTAL}/" + (f"?{query[0]}" if query else "")

    def list_jobs(self, page_token: str | None = None) -> JobsPage:
        """Classic agents, one page of 100 at a time (`page_token` is the `after` cursor, §1, client 3).

        A project with no classic agent but agents of the new API (§0: made in the new portal, invisible
        to /assistants) is an error saying so, not a silently empty list.
        """
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if page_token:
            params["after"] = page_token
        body = self._call("GET", "/assistants", "listAgents", params=params)
        data = body.get("data") or []
        if not data and not page_token:
            self._refuse_new_agents_only()
        after = body.get("last_id") or (data[-1].get("id") if data else None)
        return JobsPage([self._job_info(agent) for agent in data], after if body.get("has_more") else None)

    # ---- helpers -----------------------------------------------------------------------------
    def _find_own(self, run_id: str, run: AgentRun) -> tuple[dict[str, Any] | None, str | None]:
        """(the run this run id started, or None; the thread to post to).

        With a thread (given, or found with our tag but no run) the thread's runs are searched; otherwise
        the newest threads of the project. A given thread with someone else's active run refuses here.
        """
        thread_id = run.thread_id
        if thread_id is None:
            thread_id = self._find_own_thread(run_id)
            if thread_id is None:
                return None, None
        runs = self._thread_runs(thread_id)
        own = next((r for r in runs if tagged(r, run_id)), None)
        if own is not None:
            return own, thread_id
        if runs and runs[0].get("status") in ACTIVE_STATUSES:
            raise self._busy(thread_id, runs[0], run.wait_for_thread)
        return None, thread_id

    def _find_own_thread(self, run_id: str) -> str | None:
        threads = self._pages("/threads", "listThreads", params={"order": "desc"}, max_pages=THREAD_SCAN_PAGES)
        return next((t.get("id") for t in threads if tagged(t, run_id)), None)

    def _post_run(self, agent_id: str, run: AgentRun, run_id: str, thread_id: str | None) -> dict[str, Any]:
        path, operation, body = _run_post(agent_id, run, run_id, thread_id)
        return self._call("POST", path, operation, json=body)

    def _busy(self, thread_id: str, active: Mapping[str, Any] | None, wait: bool) -> PlatformError:
        which = f" {active.get('id')} ({active.get('status')})" if active else ""
        message = (f"Thread {thread_id} has an active run{which}; runbridge does not add a message to a thread "
                   "while a run is active.")
        if wait:  # when_thread_busy=wait: the orchestrator asks again later
            return PlatformError(ErrorKind.BUSY, message, code="ThreadBusy", http_status=400, operation="createRun")
        message += (" Start this run again once that run has ended, or cancel it, or set when_thread_busy=wait "
                    "to wait for it.")
        return PlatformError(ErrorKind.PERMANENT, message, code="ThreadBusy", http_status=400, operation="createRun")

    def _submitted(self, run: Mapping[str, Any]) -> Submitted:
        thread_id = str(run.get("thread_id"))
        return Submitted(remote_run_id(thread_id, str(run.get("id"))), self.monitor_url(), run.get("status"),
                         {THREAD_ID: thread_id})

    def _refuse_new_agents_only(self) -> None:
        """Raise when the new agents API (§0, `GET /agents`) has agents although /assistants has none."""
        try:
            names = [a.get("name") or a.get("id") for a in self._call("GET", "/agents", "listNewAgents",
                                                                         params={"limit": PAGE_SIZE}).get("data") or []]
        except (PlatformError, ValueError) as exc:
            log.info("new agents API not readable (%s); reporting no agents", exc)
            return
        if names:
            shown = ", ".join(str(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
            raise PlatformError(
                ErrorKind.PERMANENT,
                f"This project has no classic agents (assistants), but agents of the new Foundry agents API "
                f"({shown}). Those are not reachable through the classic agents API that foundry_agent runs use; "
                "create the agent as a classic agent (assistant) to run it here.",
                code="NoClassicAgents", operation="listAgents")

    def _job_info(self, agent: Mapping[str, Any]) -> JobInfo:
        agent_id = str(agent.get("id"))
        parameters = [
            JobParameter(USER_MESSAGE, Direction.INPUT.value, "string", True),
            JobParameter(THREAD_ID, Direction.INPUT_OUTPUT.value, "string", False),
            JobParameter(RESPONSE, Direction.OUTPUT.value, "string"),
            JobParameter(STRIP_ANNOTATIONS, Direction.INPUT.value, "boolean", False, "false"),
            JobParameter(WHEN_THREAD_BUSY, Direction.INPUT.value, "string", False, BUSY_CHOICES[0], BUSY_CHOICES),
        ]
        properties = {"model": str(agent["model"])} if agent.get("model") else {}
        return JobInfo(agent_id, agent.get("name"), agent.get("description"), parameters, self.monitor_url(),
                       properties)


def _run_post(agent_id: str, run: AgentRun, run_id: str, thread_id: str | None) -> tuple[str, str, dict[str, Any]]:
    """(path, operation, body) of the one POST that posts the message and starts the run (module doc)."""
    if thread_id is None:
        return "/threads/runs", "createThreadAndRun", new_thread_run_body(agent_id, run, run_id)
    # A thread we made whose run is missing already holds the message (only POST /threads/runs makes
    # threads here, message included): start the run without adding it twice.
    own_thread = run.thread_id is None
    return (f"/threads/{thread_id}/runs", "createRun",
            thread_run_body(agent_id, run, run_id, with_message=not own_thread))


def remote_name(job: str, run_id: str) -> str:
    """What finds the run a run makes (platforms/remote_names.py): its tag on the thread and run (client 4)."""
    return f"{RUN_ID_TAG}={run_id}"


def error_parser(response: requests.Response) -> tuple[str | None, str]:
    """AgentV1Error (§4) as the shared parser reads it, with what a 401 means on this platform added."""
    code, message = default_error_parser(response)
    if response.status_code == 401:
        if code == "PermissionDenied":
            message += (" The app's identity needs the Azure AI User role (Foundry User) on the project; the "
                        "token itself was accepted.")
        else:
            message += (" The Foundry Agent Service accepts only Microsoft Entra ID tokens for "
                        f"{AGENTS_SCOPE}; API keys are refused, so a connection carries no key.")
    return code, message


def create_client(connection: Connection) -> FoundryAgentsClient:
    """The client for a `foundry_agents` connection, with Entra ID tokens from the connection's identity."""
    endpoint = connection.settings["endpoint"]
    token = BearerToken(credential_for(connection.settings, endpoint), AGENTS_SCOPE)
    return FoundryAgentsClient(connection, HttpClient(endpoint, auth=token.headers, retry=IN_ACTIVITY,
                                                      error_parser=error_parser))
