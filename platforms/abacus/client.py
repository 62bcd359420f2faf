"""Abacus.AI pipelines over the REST API v0 (reference/abacus-pipelines.md, "the reference"; "client N"
points into its "What a client must handle" list).

One run is one pipeline version: runPipeline starts it with the run's typed variables (variables.py), its
id is the run's remoteRunId, describePipelineVersion polls it, and its steps' output variables are the
run's outputs. Requests are built by hand (client 1): `<endpoint>/api/v0/<method>` with the method's fixed
verb (§2), JSON bodies for POST, query strings for GET, and the header `apiKey` from the connection's
setting. The key goes into that header and nowhere else: messages from the platform are redacted
(wire.redact), the shared HttpClient follows no redirect and sends to no other origin, and nothing here logs a
header, a body or a connection's settings.

Submitting once (§6 gotcha 2). runPipeline makes a new version on every call and a version carries no
tag, label or description a client could set (§2, §5), so a run finds its own version by time and
variables. `submit` lists the pipeline's newest versions (listPipelineVersions, RECONCILE_LIMIT) and
takes one as this run's when its variables are exactly this run's (every declared variable at the value
sent, or at its default when not sent) and
- this process already knows it as this run's (a retry in the same process), or
- it was created at or after the run's creation (`RunRequest.created_at`, less CLOCK_SKEW for clocks that
  disagree): a submit activity run again after its answer was lost, in this process or another one,
  and the orchestrator's retry of a failed submit;
never one this process knows as another run's. Only when none matches is runPipeline sent, once per
call. After an answer that leaves open whether it started a version (a timeout, a dropped connection,
a 5xx) the versions are listed again, and a new one (absent from the first list) with this run's
variables is this run's; when none is there the error goes up as transient, and the orchestrator's retry
looks again before it sends anything. If several match, the oldest is taken. What this cannot tell apart:
two runs with the same variables on the same pipeline, started within moments of each other on
different hosts. A 429 (TooManyRequestsError) made nothing and is not looked for.

Stopping a run: Abacus has no cancel call (§2 "Cancel / stop: there is none"). `cancel` calls
skipPendingPipelineVersionSteps, which skips the steps that have not started; steps already running run
on to their own end on Abacus, and nothing runbridge can call stops them (client 5). The run then ends
Cancelled when the version ends (SKIPPED), or when the poll loop's cancel budget runs out, whichever comes
first, and its error message says so and names the steps still running. When every step had already
started, nothing is skipped: the version may end COMPLETE and the run Success, since the work was done.

Links: the reference found no per-pipeline or per-version page (§5), so the monitor link is the app's
pipelines page, `https://abacus.ai/app/pipelines`, on the connection's `dashboardEndpoint` if it sets one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from core.connections import Connection
from core.errors import ValidationError
from core.parameters import Direction, render_value
from core.run_request import RunRequest
from core.status import ErrorCode, RunStatus, is_terminal, map_status
from platforms.base import JobInfo, JobParameter, JobsPage, RemoteState, Submitted
from platforms.http import IN_ACTIVITY, ErrorKind, HttpClient, PlatformError, none_if_missing

from .variables import Variable, build_mappings, declared_variables, effective_values, same_values
from .wire import API_PREFIX, classify, error_parser, parse_time, read_result, redact

log = logging.getLogger("runbridge.abacus")
API_KEY_HEADER = "apiKey"  # §1 Headers
DASHBOARD = "https://abacus.ai"  # §5: the only UI host the reference knows
PIPELINES_PAGE = "/app/pipelines"
# Each method's fixed HTTP verb (§2 table, §6 gotcha 1).
METHODS: Mapping[str, str] = {
    "describePipeline": "POST",
    "listPipelines": "GET",
    "runPipeline": "POST",
    "listPipelineVersions": "POST",
    "describePipelineVersion": "GET",
    "skipPendingPipelineVersionSteps": "POST",
}

# Every version (and step) status of §3. Only COMPLETE is success (client 4). SKIPPED is what
# skipPendingPipelineVersionSteps leaves ([U]: the simulator's word, §3's example) and CANCELLED the
# reference's "possibly CANCELLED": both mean the work was stopped, so Cancelled. COMPLETED is the word
# some newer Abacus objects use for success [U]; §3 does not vouch for it on pipelines, so it is Unknown:
# shown as it is and polled under the unknown budget. Anything else is Unknown too (core.status).
STATUS_TABLE: Mapping[str, RunStatus] = {
    "PENDING": RunStatus.STARTING,
    "RUNNING": RunStatus.RUNNING,
    "COMPLETE": RunStatus.SUCCESS,
    "FAILED": RunStatus.FAILED,
    "SKIPPED": RunStatus.CANCELLED,
    "CANCELLED": RunStatus.CANCELLED,
    "COMPLETED": RunStatus.UNKNOWN,
}
PIPELINE_CACHE_SECONDS = 60.0
MAX_CACHED_PIPELINES = 1000  # described pipelines kept per client (the oldest go first)
RECONCILE_LIMIT = 50  # newest versions searched for this run's own (§2: newest first [U], §6 gotcha 2)
CLOCK_SKEW = timedelta(seconds=30)  # the run's creation (host clock) vs a version's createdAt (Abacus clock)
MAX_CLAIMS = 10_000  # versions remembered as some run's, per client
PIPELINES_PER_PAGE = 20  # discovery describes each pipeline: one page of ours is this many platform calls
TIMEOUT = (5.0, 60.0)  # connect, read: GETs have none in the SDK (§6 gotcha 8); a long read cuts ambiguity
_FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


class AbacusClient:
    """One Abacus organisation (an API key): run pipelines, poll versions, skip their pending steps."""

    def __init__(self, connection: Connection, http: HttpClient, secret: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.connection = connection
        self.http = http
        self._secret = secret
        self._clock = clock
        self.dashboard = (connection.settings.get("dashboardEndpoint") or DASHBOARD).rstrip("/")
        self._pipelines: dict[str, tuple[float, dict[str, Any]]] = {}
        self._listed: tuple[float, list[dict[str, Any]]] | None = None
        self._claims: OrderedDict[str, str] = OrderedDict()  # pipeline version id -> run id
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AbacusClient(connection={self.connection.name!r})"

    # ---- calls -------------------------------------------------------------------------------------
    def call(self, method: str, **arguments: Any) -> Any:
        """One API method with its verb; the envelope's `result`, or PlatformError."""
        verb, params, body = _call_parts(method, arguments)
        response = self.http.request(verb, API_PREFIX + method, operation=method, params=params, json=body)
        return read_result(response, method, self._secret)

    def pipeline(self, pipeline_id: str) -> dict[str, Any] | None:
        """The Pipeline (describePipeline), or None when the organisation has no such pipeline."""
        found = none_if_missing(lambda: self.call("describePipeline", pipelineId=pipeline_id))
        if found is None:
            return None
        return found if isinstance(found, dict) else {}

    def _cached_pipeline(self, pipeline_id: str) -> dict[str, Any] | None:
        """The pipeline, cached briefly (the starter checks every request against it, discovery every page)."""
        cached = self._pipelines.get(pipeline_id)
        if cached and self._clock() - cached[0] < PIPELINE_CACHE_SECONDS:
            return cached[1]
        found = self.pipeline(pipeline_id)
        if found is None:  # a "not found" is never kept: it may be one stray 404
            return None
        self._pipelines[pipeline_id] = (self._clock(), found)
        while len(self._pipelines) > MAX_CACHED_PIPELINES:
            self._pipelines.pop(next(iter(self._pipelines)))
        return found

    def _is_cached(self, pipeline_id: str) -> bool:
        cached = self._pipelines.get(pipeline_id)
        return cached is not None and self._clock() - cached[0] < PIPELINE_CACHE_SECONDS

    def _pipeline_list(self) -> tuple[list[dict[str, Any]], int]:
        """listPipelines, cached briefly so paging through it costs one call; (pipelines, calls made)."""
        cached = self._listed
        if cached and self._clock() - cached[0] < PIPELINE_CACHE_SECONDS:
            return cached[1], 0
        pipelines = [p for p in self.call("listPipelines") or []
                     if isinstance(p, dict) and isinstance(p.get("pipelineId"), str)]
        self._listed = (self._clock(), pipelines)
        return pipelines, 1

    def _version(self, version_id: str) -> dict[str, Any]:
        found = self.call("describePipelineVersion", pipelineVersion=version_id)
        return found if isinstance(found, dict) else {}

    def _versions(self, pipeline_id: str) -> list[dict[str, Any]]:
        found = self.call("listPipelineVersions", pipelineId=pipeline_id, limit=RECONCILE_LIMIT)
        return [v for v in found or [] if isinstance(v, dict) and isinstance(v.get("pipelineVersion"), str)]

    # ---- verbs -------------------------------------------------------------------------------------
    def check_request(self, request: RunRequest) -> None:
        """400-worthy problems: no such pipeline, an undeclared variable, a value that does not fit its type."""
        _plan(request, self._cached_pipeline(request.job))

    def describe(self, job: str) -> JobInfo | None:
        """The pipeline as discovery lists it (variable types, outputs), or None when there is none."""
        pipeline = self._cached_pipeline(job)
        return None if pipeline is None else self._job_info(pipeline)

    def submit(self, request: RunRequest, run_id: str) -> Submitted:
        """Start one pipeline version for the run, or find the one it already started (module doc)."""
        variables, mappings = _plan(request, self.pipeline(request.job))
        expected = effective_values(variables, mappings)
        before = self._versions(request.job)
        since = None if request.created_at is None else request.created_at - CLOCK_SKEW
        own = self._own(before, variables, expected, run_id, since=since)
        if own is not None:
            log.info("run %s already started pipeline version %s: using it", run_id, own["pipelineVersion"])
            return self._submitted(own, run_id)
        try:
            version = self.call("runPipeline", **_run_arguments(request, mappings))
            if not isinstance(version, dict) or not isinstance(version.get("pipelineVersion"), str):
                raise PlatformError(ErrorKind.TRANSIENT, "runPipeline answered without a pipelineVersion",
                                    code="InvalidResponse", operation="runPipeline")
        except PlatformError as exc:
            if not exc.transient or exc.http_status == 429:
                raise  # refused, or throttled: no version was made
            try:
                after = self._versions(request.job)
            except PlatformError:
                raise exc from None
            known = {v["pipelineVersion"] for v in before}
            own = self._own(after, variables, expected, run_id, exclude=known)
            if own is None:
                raise
            log.info("runPipeline for run %s failed (%s) but made version %s: using it", run_id, exc.code,
                     own["pipelineVersion"])
        else:
            own = version
        return self._submitted(own, run_id)

    def find(self, request: RunRequest, run_id: str) -> Submitted | None:
        """The version this run started, by the submit's rule (module doc): among the pipeline's newest
        RECONCILE_LIMIT versions, one with exactly this run's variables created after the run (less
        CLOCK_SKEW). None when there is none, or when the run's creation time is not known. It cannot tell
        apart two runs with the same variables started moments apart on different hosts."""
        if request.created_at is None:
            return None
        variables, mappings = _plan(request, self.pipeline(request.job))
        own = self._own(self._versions(request.job), variables, effective_values(variables, mappings), run_id,
                        since=request.created_at - CLOCK_SKEW)
        return None if own is None else self._submitted(own, run_id)

    def preview(self, request: RunRequest, run_id: str) -> dict[str, Any]:
        """The runPipeline call a submit would send, with its typed variable mappings (the key is a header,
        never in it)."""
        _, mappings = _plan(request, self.pipeline(request.job))
        verb, params, body = _call_parts("runPipeline", _run_arguments(request, mappings))
        return self.http.describe(verb, API_PREFIX + "runPipeline", params=params, json=body)

    def probe(self) -> None:
        """listPipelines: one call that needs a valid key with access to the organisation."""
        self.call("listPipelines")

    def get_state(self, remote_run_id: str) -> RemoteState:
        version = none_if_missing(lambda: self._version(remote_run_id))
        if version is None:
            return RemoteState.vanished(f"Pipeline version {remote_run_id}")
        remote = version.get("status")
        status = map_status(STATUS_TABLE, remote)
        steps = _steps(version)
        ended = version.get("completedAt") if is_terminal(status) else None
        if status is RunStatus.FAILED:
            return RemoteState(status, remote, ended_at=ended, error=self._failure_text(version, steps))
        stopped = _stopped(steps)
        if status is RunStatus.CANCELLED or (stopped and not is_terminal(status)):
            note = _stop_note(remote_run_id, steps, ended=is_terminal(status))
            # On an active version the code asks the loop to cancel (it is stopping already: someone
            # skipped its steps, here or on the platform) and puts the note in the run's status meanwhile.
            return RemoteState(status, remote, ended_at=ended, error=note,
                               error_code=None if is_terminal(status) else ErrorCode.CANCELLED)
        error = version.get("error") if status is RunStatus.UNKNOWN else None  # shown as it is (client 4)
        return RemoteState(status, remote, ended_at=ended,
                           error=redact(error, self._secret) if isinstance(error, str) and error else None)

    def cancel(self, remote_run_id: str) -> None:
        """skipPendingPipelineVersionSteps: the only stop there is (module doc). Steps already running finish
        on Abacus; the version ends when they do, SKIPPED."""
        self.call("skipPendingPipelineVersionSteps", pipelineVersion=remote_run_id)

    def outputs(self, remote_run_id: str, request: RunRequest) -> dict[str, str]:
        """Every step's produced output variables by name (§5: `stepVersions[].outputVariableMappings`);
        a name two steps set takes the later step's value."""
        found: dict[str, str] = {}
        for step in _steps(self._version(remote_run_id)):
            for name, value in _step_outputs(step).items():
                if value is not None:
                    found[name] = render_value(value) or ""
        return found

    def monitor_url(self, remote_run_id: str | None = None) -> str:
        """The app's pipelines page (§5: no per-version page is known, so none is made up)."""
        return self.dashboard + PIPELINES_PAGE

    def list_jobs(self, page_token: str | None = None) -> JobsPage:
        """The organisation's pipelines with their variables (describePipeline) and step outputs.

        listPipelines has no paging (§2), so ours is an offset into it: each page describes up to
        PIPELINES_PER_PAGE pipelines.
        """
        offset = int(page_token) if page_token and page_token.isdigit() else 0
        pipelines, calls = self._pipeline_list()
        page = pipelines[offset: offset + PIPELINES_PER_PAGE]
        jobs = []
        for summary in page:
            calls += 0 if self._is_cached(summary["pipelineId"]) else 1
            described = self._cached_pipeline(summary["pipelineId"])
            if described is None:
                # listed, then "not found": one stray 404, or deleted since. Either way this page would be
                # wrong: the caller asks again (a transient error) and the list is read afresh.
                self._listed = None
                raise PlatformError(ErrorKind.TRANSIENT, f"Pipeline {summary['pipelineId']} was listed but not "
                                    "found when described; ask again.", code="ListChanged",
                                    operation="describePipeline")
            jobs.append(self._job_info({**summary, **described}))
        end = offset + len(page)
        return JobsPage(jobs, str(end) if end < len(pipelines) else None, calls)

    # ---- helpers -----------------------------------------------------------------------------------
    def _own(self, versions: list[dict[str, Any]], variables: list[Variable], expected: Mapping[str, Any],
             run_id: str, *, since: datetime | None = None, exclude: set[str] | None = None
             ) -> dict[str, Any] | None:
        """This run's version among `versions` (the rule in the module doc), or None."""
        candidates = []
        for version in versions:
            version_id = version["pipelineVersion"]
            with self._lock:
                owner = self._claims.get(version_id)
            if owner == run_id:
                return version
            if owner is not None:
                continue
            if exclude is not None:
                if version_id in exclude:
                    continue
            else:
                created = parse_time(version.get("createdAt"))
                if since is None or created is None or created < since:
                    continue
            if same_values(variables, expected, version.get("pipelineVariableMappings")):
                candidates.append(version)
        if not candidates:
            return None
        return min(candidates, key=lambda v: parse_time(v.get("createdAt")) or _FAR_FUTURE)

    def _submitted(self, version: Mapping[str, Any], run_id: str) -> Submitted:
        version_id = version["pipelineVersion"]
        with self._lock:
            self._claims[version_id] = run_id
            self._claims.move_to_end(version_id)
            while len(self._claims) > MAX_CLAIMS:
                self._claims.popitem(last=False)
        return Submitted(version_id, self.monitor_url(version_id), version.get("status"))

    def _failure_text(self, version: Mapping[str, Any], steps: list[Mapping[str, Any]]) -> str:
        """The version's error, then each failed step's error and output errors not already in it."""
        parts: list[str] = []
        if isinstance(version.get("error"), str) and version["error"].strip():
            parts.append(version["error"].strip())
        for step in steps:
            if map_status(STATUS_TABLE, step.get("status")) is not RunStatus.FAILED:
                continue
            name = step.get("stepName") or step.get("pipelineStepVersion") or "?"
            for label, text in (("failed", step.get("error")), ("output errors", step.get("outputErrors"))):
                if isinstance(text, str) and text.strip() and not any(text.strip() in part for part in parts):
                    parts.append(f"Step {name} {label}: {text.strip()}")
        if not parts:
            parts.append(f"Pipeline version {version.get('pipelineVersion')} ended {version.get('status')}.")
        return redact("\n".join(parts), self._secret)

    def _job_info(self, pipeline: Mapping[str, Any]) -> JobInfo:
        parameters = [JobParameter(v.name, Direction.INPUT.value, v.variable_type, v.must_be_given,
                                   render_value(v.default) if v.default is not None else None)
                      for v in declared_variables(pipeline)]
        seen = {p.name for p in parameters}
        for step in pipeline.get("steps") or []:
            if not isinstance(step, Mapping):
                continue
            function = step.get("pythonFunction") if isinstance(step.get("pythonFunction"), Mapping) else {}
            for output in step.get("outputVariableMappings") or function.get("outputVariableMappings") or []:
                name = output.get("name") if isinstance(output, Mapping) else None
                if isinstance(name, str) and name not in seen:
                    seen.add(name)
                    parameters.append(JobParameter(name, Direction.OUTPUT.value,
                                                   str(output.get("variableType") or "ANY")))
        return JobInfo(pipeline["pipelineId"], pipeline.get("pipelineName"), None, parameters, self.monitor_url())


def _call_parts(method: str, arguments: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None, Any]:
    """(verb, query, body) of one API method: GET takes a query string, POST a JSON body (§2)."""
    verb = METHODS[method]
    if verb == "GET":
        return verb, {k: v for k, v in arguments.items() if v is not None}, None
    return verb, None, dict(arguments)


def _run_arguments(request: RunRequest, mappings: list[dict[str, Any]]) -> dict[str, Any]:
    """runPipeline's arguments for a run."""
    return {"pipelineId": request.job, "pipelineVariableMappings": mappings}


def _plan(request: RunRequest, pipeline: Mapping[str, Any] | None) -> tuple[list[Variable], list[dict[str, Any]]]:
    """The pipeline's variables and the run's mappings; ValidationError when the run cannot start."""
    if pipeline is None:
        raise ValidationError("job", "is not a pipeline of this Abacus organisation", code=ErrorCode.NOT_FOUND)
    variables = declared_variables(pipeline)
    return variables, build_mappings(request.parameters, variables, request.job, request.given_later)


def _steps(version: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [step for step in version.get("stepVersions") or [] if isinstance(step, Mapping)]


def _stopped(steps: list[Mapping[str, Any]]) -> bool:
    """True when steps were skipped on request: some skipped, none failed (a failure skips its dependents)."""
    statuses = [map_status(STATUS_TABLE, step.get("status")) for step in steps]
    return RunStatus.CANCELLED in statuses and RunStatus.FAILED not in statuses


def _stop_note(version_id: str, steps: list[Mapping[str, Any]], *, ended: bool) -> str:
    """What stopping a version means on Abacus, for the run's error message."""
    def names(wanted: RunStatus) -> list[str]:
        return [str(s.get("stepName")) for s in steps if map_status(STATUS_TABLE, s.get("status")) is wanted]

    note = (f"Abacus has no cancel call: the pending steps of pipeline version {version_id} were skipped "
            "(skipPendingPipelineVersionSteps), and steps already running finish on the platform")
    if not ended and names(RunStatus.RUNNING):
        note += f" (running now: {', '.join(names(RunStatus.RUNNING))})"
    note += "."
    if ended:
        ran = [f"{s.get('stepName')} {s.get('status')}" for s in steps
               if map_status(STATUS_TABLE, s.get("status")) in (RunStatus.SUCCESS, RunStatus.FAILED)]
        if ran:
            note += f" Steps that ran: {', '.join(ran)}."
    skipped = names(RunStatus.CANCELLED)
    return note + (f" Skipped: {', '.join(skipped)}." if skipped else "")


def _step_outputs(step: Mapping[str, Any]) -> dict[str, Any]:
    """A step version's output values by name: a list of {name, value} or a name -> value mapping (§5 [U])."""
    raw = step.get("outputVariableMappings")
    if isinstance(raw, Mapping):
        return {str(k): (v.get("value") if isinstance(v, Mapping) else v) for k, v in raw.items()}
    found: dict[str, Any] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            found[item["name"]] = item.get("value")
    return found


def remote_name(job: str, run_id: str) -> str:
    """What finds the version a run starts (platforms/remote_names.py): no tag exists (§6 gotcha 2), so its
    variables and time (module doc)."""
    return f"pipeline {job}: the version with this run's variables created after the run"


def create_client(connection: Connection) -> AbacusClient:
    """The client for an `abacus` connection: its endpoint, and its API key in the `apiKey` header only."""
    key = connection.settings["apiKey"]

    def headers() -> dict[str, str]:
        return {API_KEY_HEADER: key}

    http = HttpClient(connection.settings["endpoint"], auth=headers, retry=IN_ACTIVITY, timeout=TIMEOUT,
                      error_parser=error_parser(key), classify=classify)
    return AbacusClient(connection, http, secret=key)
