"""The Abacus.AI simulator: REST API v0 pipeline methods under `/api/v0/<method>`, on one port.

Faithful to /work/shared/reference/abacus-pipelines.md ("the reference"); section numbers point into it.
Where the reference is [U] or silent, the rule chosen is written where it applies.

Transport (§1): each method has one fixed HTTP verb (§2 table); a GET or DELETE takes its arguments from
the query string, a POST or PATCH from a JSON object body (explicit nulls mean "not given", §6 gotcha 7;
unknown keys are ignored, checklist item 8). Query arguments are not read for POST/PATCH, nor the body
for GET: a client that puts them in the wrong place gets MissingParameterError, as it would from a
server that reads only one place ([U]). Another verb on a known method answers 405 MethodNotAllowed
([U], §6 gotcha 1); an unknown method 404 Generic404Error. Every answer is an envelope (wire.py) and
carries `x-request-id`.

Auth (§1 Headers, checklist item 2): the `apiKey` header must hold a configured key; a missing or wrong
key answers `auth_status` (401, or 403) with errorType `auth_error_type` (PermissionDeniedError) [U].
`version` needs no key (the SDK calls it with whatever key it has, possibly none).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from devkit.clock import Clock
from simulators.abacus import resources, wire
from simulators.abacus.catalog import (
    CPU_SIZES,
    CREATED_BY,
    DEFAULT_PENDING_SECONDS,
    DEFAULT_STEP_SECONDS,
    DEFAULT_TIMEOUT_MINUTES,
    MEMORY_SIZES,
    PROJECTS,
    SEEDED,
    PipelineSpec,
    StepSpec,
    check_steps,
    outputs_from_json,
    spec_from_json,
    step_inputs,
)
from simulators.abacus.variables import VariableError, declare, resolve
from simulators.abacus.versions import (
    ACTIVE,
    DEFAULT_SKIPPED,
    Pipeline,
    Step,
    StepVersion,
    Version,
    downstream,
    plan_steps,
)
from simulators.abacus.wire import (
    ALREADY_EXISTS,
    CONFLICT,
    DATA_NOT_FOUND,
    ERROR_TYPES,
    GATEWAY_STATUSES,
    GENERIC_404,
    INVALID_ENUM,
    INVALID_PARAMETER,
    INVALID_REQUEST,
    MISSING_PARAMETER,
    PERMISSION_DENIED,
    REQUEST_ID_HEADER,
)
from simulators.lifecycle import StatusPin
from simulators.routing import UNMATCHED, Request, Response, Route
from simulators.server import Platform, sim_error

API_PREFIX = "/api/v0/"
DEFAULT_API_KEY = "sim-abacus-key"
SERVER_VERSION = "1.4.119"  # the SDK version the reference was checked against; `version` answers it
DEFAULT_LIST_LIMIT = 200  # §2: listPipelineVersions `limit`, SDK default 200
PUBLIC_METHODS = frozenset({"version"})
DASHBOARD = "https://abacus.ai"  # §5: the only UI host the reference knows; the simulator serves no UI
HISTORY_AGE = timedelta(days=1)
_DEFAULT = object()


class ApiError(Exception):
    """A refusal in the Abacus error envelope."""

    def __init__(self, status: int, error_type: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


@dataclass(frozen=True)
class Answer:
    """A scripted error answer for the next `times` requests of `operation` (None: any method).

    It is answered before the apiKey check (as a gateway would) and before the framework's faults, for
    what those cannot express: 502/504 without running the method, a gateway's HTML page (`html`), or any
    errorType (`error_type`; None leaves it out; unset: the status's usual one).
    """

    status: int
    operation: str | None = None
    times: int = 1
    html: bool = False
    error_type: Any = _DEFAULT
    message: str | None = None
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retryAfter must not be negative")

    @classmethod
    def from_json(cls, data: Any) -> Answer:
        """From `POST /_sim/answers`: `{status, operation?, times?, html?, errorType?, error?, retryAfter?}`."""
        if not isinstance(data, Mapping) or "status" not in data:
            raise ValueError("an answer is an object with at least 'status'")
        unknown = set(data) - {"status", "operation", "times", "html", "errorType", "error", "retryAfter"}
        if unknown:
            raise ValueError(f"unknown answer fields: {', '.join(sorted(unknown))}")
        try:
            return cls(
                status=int(data["status"]),
                operation=data.get("operation"),
                times=int(data.get("times", 1)),
                html=bool(data.get("html", False)),
                error_type=data.get("errorType", _DEFAULT),
                message=data.get("error"),
                retry_after=None if data.get("retryAfter") is None else int(data["retryAfter"]),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad answer {dict(data)!r}: {exc}") from None

    def to_json(self, left: int) -> dict[str, Any]:
        return {
            "status": self.status,
            "operation": self.operation,
            "times": left,
            "html": self.html,
            "errorType": ERROR_TYPES.get(self.status) if self.error_type is _DEFAULT else self.error_type,
            "error": self.message,
            "retryAfter": self.retry_after,
        }


class AbacusPlatform(Platform):
    """The organisation `sim-org`: project `simproject01` with pipelines `simtrain01` and `simfail01`.

    Options: `api_key` (a key, or a list of keys, accepted in the `apiKey` header); `auth_status` (401 or
    403) and `auth_error_type` for a refused key; `validate_variables` (refuse undeclared, mistyped or
    missing variables, else echo what was sent) and `strict_types` (JSON-native values only, see
    variables.py); `skipped_status` (what skipPendingPipelineVersionSteps leaves, [U]);
    `html_gateway_errors` (502/503/504 answer a gateway's HTML page instead of an envelope);
    `server_error_type` (the errorType of a 500, default none as in the reference's issue #10);
    `retry_after_on_throttle` (whether a 429 carries Retry-After, [U]); `api_endpoint` (what
    getApiEndpoint answers instead of the simulator's own URL); `server_version`; `step_seconds` and
    `pending_seconds` (how steps and versions of pipelines made through createPipeline behave).
    """

    name = "abacus"
    requires_bearer = False  # §1 Headers: `apiKey: <key>`, checked in `check()`

    def __init__(
        self,
        clock: Clock,
        *,
        api_key: str | list[str] = DEFAULT_API_KEY,
        auth_status: int = 401,
        auth_error_type: str = PERMISSION_DENIED,
        validate_variables: bool = True,
        strict_types: bool = False,
        skipped_status: str = DEFAULT_SKIPPED,
        html_gateway_errors: bool = False,
        server_error_type: str | None = None,
        retry_after_on_throttle: bool = True,
        api_endpoint: str | None = None,
        server_version: str = SERVER_VERSION,
        step_seconds: float = DEFAULT_STEP_SECONDS,
        pending_seconds: float = DEFAULT_PENDING_SECONDS,
    ) -> None:
        super().__init__(clock)
        keys = [api_key] if isinstance(api_key, str) else list(api_key)
        if not keys or not all(isinstance(key, str) and key for key in keys):
            raise ValueError("api_key must be a non-empty string or a list of them")
        if auth_status not in (401, 403):
            raise ValueError("auth_status must be 401 or 403")
        if step_seconds < 0 or pending_seconds < 0:
            raise ValueError("step_seconds and pending_seconds must not be negative")
        self.api_keys = frozenset(keys)
        self.auth_status = auth_status
        self.auth_error_type = auth_error_type
        self.validate_variables = validate_variables
        self.strict_types = strict_types
        self.skipped_status = skipped_status
        self.html_gateway_errors = html_gateway_errors
        self.server_error_type = server_error_type
        self.retry_after_on_throttle = retry_after_on_throttle
        self.api_endpoint = api_endpoint.rstrip("/") if api_endpoint else None
        self.server_version = server_version
        self.step_seconds = step_seconds
        self.pending_seconds = pending_seconds
        self.reset()

    # -- state ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Restore the seeded catalog (each pipeline with its finished past versions); zero the counters."""
        now = self.clock.now()
        self.pipelines: dict[str, Pipeline] = {}
        self.versions: dict[str, Version] = {}
        self.step_index: dict[str, Version] = {}  # pipelineStepVersion -> its version
        self.projects: set[str] = set(PROJECTS)
        self.answers: list[list[Any]] = []  # [Answer, hits left]
        self._ids: Counter[str] = Counter()
        self.created = 0
        self.skips = 0
        self.resets = 0
        self.auth_refusals = 0
        self.answers_injected = 0
        for spec in SEEDED:
            pipeline = self.add_pipeline(spec, now - spec.age, created_by=CREATED_BY)
            for index in range(spec.history):
                self._new_version(pipeline, declared_defaults(pipeline), now - HISTORY_AGE + timedelta(hours=index))

    def add_pipeline(
        self, spec: PipelineSpec, created_at: datetime | None = None, created_by: str = CREATED_BY
    ) -> Pipeline:
        """Add a pipeline with scripted behaviour (also `POST /_sim/pipelines`); ValueError if it clashes."""
        if spec.pipeline_id in self.pipelines:
            raise ValueError(f"pipeline {spec.pipeline_id} already exists")
        if any(p.name == spec.name for p in self.pipelines.values()):
            raise ValueError(f"a pipeline named {spec.name} already exists")
        check_steps(spec.steps)
        created_at = created_at or self.clock.now()
        try:
            variables = declare(list(spec.variables))
        except VariableError as exc:
            raise ValueError(exc.message) from None
        steps = [
            Step(self._id("pipelineStep"), self._id("pythonFunction"), step, created_at, created_at)
            for step in spec.steps
        ]
        pipeline = Pipeline(
            spec.pipeline_id,
            spec.name,
            spec.project_id,
            created_at,
            variables,
            steps,
            spec.pending_seconds,
            spec.cron,
            spec.is_prod,
            created_by,
        )
        if spec.project_id:
            self.projects.add(spec.project_id)
        self.pipelines[pipeline.pipeline_id] = pipeline
        return pipeline

    def pin_status(self, version_id: str, status: str | None, seconds: float | None = None) -> Version:
        """Make describePipelineVersion report `status` (any string: an unknown terminal value, say) for
        `seconds` (None: until unpinned); None unpins. KeyError for an unknown version."""
        version = self.versions[version_id]
        version.pin = StatusPin.lasting(status, seconds, self.clock.now())
        return version

    def script_answers(self, *answers: Answer) -> None:
        """Queue scripted error answers (after those already queued)."""
        self.answers.extend([answer, answer.times] for answer in answers)

    def stats(self) -> dict[str, Any]:
        now = self.clock.now()
        statuses = Counter(version.status(now) for version in self.versions.values())
        return {
            "remoteJobsCreated": self.created,
            "runningNow": sum(count for status, count in statuses.items() if status in ACTIVE),
            "pipelineVersionsCreated": self.created,
            "pipelineVersions": len(self.versions),
            "versionsByStatus": dict(statuses),
            "pipelines": len(self.pipelines),
            "skipsRequested": self.skips,
            "resetsRequested": self.resets,
            "authRefusals": self.auth_refusals,
            "answersInjected": self.answers_injected,
        }

    def _id(self, kind: str) -> str:
        self._ids[kind] += 1
        return wire.make_id(kind, self._ids[kind])

    def _new_version(self, pipeline: Pipeline, mappings: list[dict[str, Any]], created: datetime) -> Version:
        run_start = created + timedelta(seconds=pipeline.pending_seconds)
        steps = plan_steps(
            pipeline.steps, created, run_start, self.skipped_status, lambda: self._id("pipelineStepVersion")
        )
        version_id = self._id("pipelineVersion")
        seq = self._ids["pipelineVersion"]  # creation order, never reused (deletePipeline removes versions)
        version = Version(version_id, seq, pipeline, created, mappings, steps, run_start, self.skipped_status)
        pipeline.versions.append(version)
        self.versions[version.version_id] = version
        for step in steps:
            self.step_index[step.step_version_id] = version
        return version

    # -- routes --------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        # §2: the HTTP verb is fixed per method name
        table: list[tuple[str, str, Callable[[Request, dict[str, Any]], Response]]] = [
            ("GET", "getApiEndpoint", self.get_api_endpoint),
            ("GET", "version", self.version),
            ("GET", "listPipelines", self.list_pipelines),
            ("POST", "describePipeline", self.describe_pipeline),
            ("POST", "describePipelineByName", self.describe_pipeline_by_name),
            ("GET", "describePipelineStep", self.describe_pipeline_step),
            ("GET", "describePipelineStepByName", self.describe_pipeline_step_by_name),
            ("POST", "runPipeline", self.run_pipeline),
            ("GET", "describePipelineVersion", self.describe_pipeline_version),
            ("POST", "listPipelineVersions", self.list_pipeline_versions),
            ("GET", "describePipelineStepVersion", self.describe_pipeline_step_version),
            ("GET", "listPipelineVersionLogs", self.list_pipeline_version_logs),
            ("GET", "getStepVersionLogs", self.get_step_version_logs),
            ("POST", "skipPendingPipelineVersionSteps", self.skip_pending_steps),
            ("POST", "resetPipelineVersion", self.reset_pipeline_version),
            ("POST", "createPipeline", self.create_pipeline),
            ("POST", "createPipelineStep", self.create_pipeline_step),
            ("PATCH", "updatePipeline", self.update_pipeline),
            ("PATCH", "renamePipeline", self.rename_pipeline),
            ("DELETE", "deletePipeline", self.delete_pipeline),
        ]
        return [Route(verb, API_PREFIX + method, method, self._envelope(handler)) for verb, method, handler in table]

    def sim_routes(self) -> list[Route]:
        return [
            Route("POST", "/_sim/pipelines", "_sim.pipelines.add", self._sim_add_pipeline, auth=False),
            Route("POST", "/_sim/versions/{version}/status", "_sim.status", self._sim_pin, auth=False),
            Route("GET", "/_sim/answers", "_sim.answers", self._sim_answers, auth=False),
            Route("POST", "/_sim/answers", "_sim.answers.add", self._sim_answers_add, auth=False),
            Route("DELETE", "/_sim/answers", "_sim.answers.clear", self._sim_answers_clear, auth=False),
        ]

    def _envelope(self, handler: Callable[[Request, dict[str, Any]], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            try:
                return handler(request, _arguments(request))
            except ApiError as exc:
                return wire.error(exc.status, exc.message, exc.error_type)
            except VariableError as exc:  # §4 / checklist item 5: all variable refusals are 400s
                return wire.error(400, exc.message, exc.error_type)

        return run

    # -- errors, checks, headers ---------------------------------------------------------------------

    def error_response(self, request: Request | None, status: int, message: str) -> Response:
        """Framework errors and faults in the envelope: 404/405 routing, bad JSON, 429, 500, 503..."""
        if self.html_gateway_errors and status in GATEWAY_STATUSES:
            return wire.gateway_page(status)
        if status == 404 and (request is None or request.operation == UNMATCHED):
            method = request.path.removeprefix(API_PREFIX) if request is not None else ""
            return wire.error(404, f"Unknown API method {method}", GENERIC_404)
        if status == 400:
            return wire.error(400, message, INVALID_REQUEST)
        if status == 500:
            return wire.error(500, "Internal server error", self.server_error_type)
        default = ERROR_TYPES.get(status, INVALID_REQUEST if status < 500 else None)
        return wire.error(status, message, default)

    def check(self, request: Request) -> Response | None:
        """Scripted answers first (a gateway answers before the service), then the apiKey header."""
        answer = self._take_answer(request.operation)
        if answer is not None:
            self.answers_injected += 1
            return self._answer(answer)
        if request.operation in PUBLIC_METHODS:
            return None
        key = request.header("apiKey")
        if key in self.api_keys:
            return None
        self.auth_refusals += 1
        message = "Missing API key: send it in the apiKey header" if not key else "Invalid API key"
        return wire.error(self.auth_status, message, self.auth_error_type)

    def decorate(self, request: Request, response: Response) -> Response:
        """Every answer carries `x-request-id` (the body's requestId when there is one, §1 Envelope)."""
        headers = dict(response.headers or {})
        if not any(name.lower() == REQUEST_ID_HEADER for name in headers):
            body = response.body
            request_id = body.get("requestId") if isinstance(body, dict) else None
            headers[REQUEST_ID_HEADER] = request_id or wire.new_request_id()
        if response.status == 429 and not self.retry_after_on_throttle:
            headers = {name: value for name, value in headers.items() if name.lower() != "retry-after"}
        return response._replace(headers=headers)

    def _take_answer(self, operation: str) -> Answer | None:
        for entry in self.answers:
            answer = entry[0]
            if answer.operation in (None, operation):
                entry[1] -= 1
                if entry[1] == 0:
                    self.answers.remove(entry)
                return answer
        return None

    def _answer(self, answer: Answer) -> Response:
        headers = {} if answer.retry_after is None else {"Retry-After": str(answer.retry_after)}
        if answer.html:
            return wire.gateway_page(answer.status, headers)
        error_type = ERROR_TYPES.get(answer.status) if answer.error_type is _DEFAULT else answer.error_type
        message = answer.message or _STATUS_MESSAGES.get(answer.status, f"HTTP {answer.status}")
        return wire.error(answer.status, message, error_type, headers=headers)

    # -- lookups ---------------------------------------------------------------------------------------

    def _pipeline(self, args: dict[str, Any]) -> Pipeline:
        pipeline_id = _text(args, "pipelineId")
        pipeline = self.pipelines.get(pipeline_id)
        if pipeline is None:  # §2 runPipeline "Exceptions: DataNotFoundError: pipelineId is not found"
            raise ApiError(404, DATA_NOT_FOUND, f"Pipeline {pipeline_id} not found")
        return pipeline

    def _version(self, args: dict[str, Any]) -> Version:
        version_id = _text(args, "pipelineVersion")
        version = self.versions.get(version_id)
        if version is None:
            raise ApiError(404, DATA_NOT_FOUND, f"Pipeline version {version_id} not found")
        return version

    def _step_version(self, args: dict[str, Any]) -> tuple[StepVersion, Version]:
        step_version_id = _text(args, "pipelineStepVersion")
        version = self.step_index.get(step_version_id)
        found = None if version is None else _find(version.step_versions, step_version_id)
        if version is None or found is None:
            raise ApiError(404, DATA_NOT_FOUND, f"Pipeline step version {step_version_id} not found")
        return found, version

    def _project(self, args: dict[str, Any]) -> str | None:
        project_id = _text(args, "projectId", required=False)
        if project_id is not None and project_id not in self.projects:
            raise ApiError(404, DATA_NOT_FOUND, f"Project {project_id} not found")
        return project_id

    def _check_name_free(self, name: str, pipeline: Pipeline | None = None) -> None:
        if any(p.name == name and p is not pipeline for p in self.pipelines.values()):
            # [C] the pipeline-creation tutorial: a duplicate name raises AlreadyExistsError
            raise ApiError(409, ALREADY_EXISTS, f"A pipeline named {name} already exists")

    # -- discovery -----------------------------------------------------------------------------------

    def get_api_endpoint(self, request: Request, args: dict[str, Any]) -> Response:
        """§1 "Endpoint discovery": the simulator's own base URL for every endpoint the SDK reads."""
        base = self.api_endpoint or request.base_url
        return wire.ok(
            {
                "apiEndpoint": base,
                "predictEndpoint": base,
                "proxyEndpoint": base,
                "llmEndpoint": base,
                "externalChatEndpoint": None,
                "dashboardEndpoint": DASHBOARD,
            }
        )

    def version(self, request: Request, args: dict[str, Any]) -> Response:
        """The web version string the SDK compares with its own (`version.parse(...)`)."""
        return wire.ok(self.server_version)

    # -- pipelines -------------------------------------------------------------------------------------

    def list_pipelines(self, request: Request, args: dict[str, Any]) -> Response:
        """§2: GET, optional `projectId` (omitted: the whole organisation), in creation order."""
        project_id = self._project(args)
        now = self.clock.now()
        chosen = [p for p in self.pipelines.values() if project_id is None or p.project_id == project_id]
        return wire.ok([resources.pipeline(p, now) for p in chosen])

    def describe_pipeline(self, request: Request, args: dict[str, Any]) -> Response:
        return wire.ok(resources.pipeline(self._pipeline(args), self.clock.now()))

    def describe_pipeline_by_name(self, request: Request, args: dict[str, Any]) -> Response:
        name = _text(args, "pipelineName")
        pipeline = next((p for p in self.pipelines.values() if p.name == name), None)
        if pipeline is None:
            raise ApiError(404, DATA_NOT_FOUND, f"Pipeline {name} not found")
        return wire.ok(resources.pipeline(pipeline, self.clock.now()))

    def describe_pipeline_step(self, request: Request, args: dict[str, Any]) -> Response:
        step_id = _text(args, "pipelineStepId")
        for pipeline in self.pipelines.values():
            step = next((s for s in pipeline.steps if s.step_id == step_id), None)
            if step is not None:
                return wire.ok(resources.pipeline_step(step, pipeline))
        raise ApiError(404, DATA_NOT_FOUND, f"Pipeline step {step_id} not found")

    def describe_pipeline_step_by_name(self, request: Request, args: dict[str, Any]) -> Response:
        pipeline = self._pipeline(args)
        name = _text(args, "stepName")
        step = pipeline.step_named(name)
        if step is None:
            raise ApiError(404, DATA_NOT_FOUND, f"Pipeline step {name} not found in pipeline {pipeline.pipeline_id}")
        return wire.ok(resources.pipeline_step(step, pipeline))

    def create_pipeline(self, request: Request, args: dict[str, Any]) -> Response:
        """§2 createPipeline: a pipeline without steps; steps come from createPipelineStep."""
        name = _text(args, "pipelineName")
        self._check_name_free(name)
        project_id = self._project(args)
        cron = _text(args, "cron", required=False)
        is_prod = _boolean(args, "isProd", False)
        now = self.clock.now()
        pipeline = Pipeline(self._id("pipeline"), name, project_id, now, [], [], self.pending_seconds, cron, is_prod)
        self.pipelines[pipeline.pipeline_id] = pipeline
        return wire.ok(resources.pipeline(pipeline, now))

    def create_pipeline_step(self, request: Request, args: dict[str, Any]) -> Response:
        """§2 createPipelineStep: the step runs `step_seconds` and completes (the code is never run)."""
        pipeline = self._pipeline(args)
        name = _text(args, "stepName")
        if pipeline.step_named(name) is not None:
            raise ApiError(409, ALREADY_EXISTS, f"Step {name} already exists in pipeline {pipeline.pipeline_id}")
        dependencies = _string_list(args, "stepDependencies")
        unknown = [dep for dep in dependencies if pipeline.step_named(dep) is None]
        if unknown:
            raise ApiError(400, INVALID_PARAMETER, f"stepDependencies name unknown steps: {', '.join(unknown)}")
        cpu_size = (_text(args, "cpuSize", required=False) or "small").lower()
        if cpu_size not in CPU_SIZES:
            raise ApiError(400, INVALID_ENUM, f"Invalid cpuSize. Valid values are: {', '.join(CPU_SIZES)}")
        memory = _integer(args, "memory", 16, minimum=1)
        if memory not in MEMORY_SIZES:
            raise ApiError(400, INVALID_ENUM, f"Invalid memory. Valid values are: {', '.join(map(str, MEMORY_SIZES))}")
        spec = StepSpec(
            name,
            self.step_seconds,
            depends_on=tuple(dependencies),
            inputs=tuple(step_inputs(args.get("stepInputMappings"))),
            outputs=tuple(outputs_from_json(args.get("outputVariableMappings"))),
            function_name=_text(args, "functionName", required=False),
            source_code=_text(args, "sourceCode", required=False),
            package_requirements=tuple(_string_list(args, "packageRequirements")),
            cpu_size=cpu_size,
            memory=memory,
            timeout=_integer(args, "timeout", DEFAULT_TIMEOUT_MINUTES, minimum=1),
        )
        now = self.clock.now()
        pipeline.steps.append(Step(self._id("pipelineStep"), self._id("pythonFunction"), spec, now, now))
        return wire.ok(resources.pipeline(pipeline, now))

    def update_pipeline(self, request: Request, args: dict[str, Any]) -> Response:
        """§2 updatePipeline (PATCH): only the arguments given (non-null) change; §4: this is where a
        pipeline's variables and their default values are declared."""
        pipeline = self._pipeline(args)
        if args.get("pipelineVariableMappings") is not None:
            pipeline.variables = declare(args["pipelineVariableMappings"], strict=self.strict_types)
        project_id = self._project(args)
        if project_id is not None:
            pipeline.project_id = project_id
        cron = _text(args, "cron", required=False)
        if cron is not None:
            pipeline.cron = cron
        if args.get("isProd") is not None:
            pipeline.is_prod = _boolean(args, "isProd", False)
        return wire.ok(resources.pipeline(pipeline, self.clock.now()))

    def rename_pipeline(self, request: Request, args: dict[str, Any]) -> Response:
        pipeline = self._pipeline(args)
        name = _text(args, "pipelineName")
        self._check_name_free(name, pipeline)
        pipeline.name = name
        return wire.ok(resources.pipeline(pipeline, self.clock.now()))

    def delete_pipeline(self, request: Request, args: dict[str, Any]) -> Response:
        """§2 deletePipeline (DELETE, query): the pipeline and its versions are gone ([U] for running ones)."""
        pipeline = self._pipeline(args)
        for version in pipeline.versions:
            self.versions.pop(version.version_id, None)
            for step in version.step_versions:
                self.step_index.pop(step.step_version_id, None)
        del self.pipelines[pipeline.pipeline_id]
        return wire.ok(None)

    # -- versions --------------------------------------------------------------------------------------

    def run_pipeline(self, request: Request, args: dict[str, Any]) -> Response:
        """§2 runPipeline: a new PENDING version every call, even for identical input (checklist item 6)."""
        pipeline = self._pipeline(args)
        mappings = resolve(
            pipeline.variables,
            args.get("pipelineVariableMappings"),
            validate=self.validate_variables,
            strict=self.strict_types,
        )
        now = self.clock.now()
        version = self._new_version(pipeline, mappings, now)
        self.created += 1
        return wire.ok(resources.pipeline_version(version, now))

    def describe_pipeline_version(self, request: Request, args: dict[str, Any]) -> Response:
        return wire.ok(resources.pipeline_version(self._version(args), self.clock.now()))

    def list_pipeline_versions(self, request: Request, args: dict[str, Any]) -> Response:
        """§2: POST `pipelineId`, `limit` (default 200; no paging token exists). Newest first ([U], §6)."""
        pipeline = self._pipeline(args)
        limit = _integer(args, "limit", DEFAULT_LIST_LIMIT, minimum=1)
        now = self.clock.now()
        newest = sorted(pipeline.versions, key=lambda v: (v.created_at, v.seq), reverse=True)[:limit]
        return wire.ok([resources.pipeline_version(version, now) for version in newest])

    def describe_pipeline_step_version(self, request: Request, args: dict[str, Any]) -> Response:
        step, version = self._step_version(args)
        return wire.ok(resources.pipeline_step_version(step, version, self.clock.now()))

    def list_pipeline_version_logs(self, request: Request, args: dict[str, Any]) -> Response:
        version = self._version(args)
        now = self.clock.now()
        return wire.ok({"stepLogs": [resources.step_logs(step, version, now) for step in version.step_versions]})

    def get_step_version_logs(self, request: Request, args: dict[str, Any]) -> Response:
        step, version = self._step_version(args)
        return wire.ok(resources.step_logs(step, version, self.clock.now()))

    def skip_pending_steps(self, request: Request, args: dict[str, Any]) -> Response:
        """§2 skipPendingPipelineVersionSteps, the only "stop" there is: steps not started are skipped,
        running steps finish (versions.py). On a finished version it changes nothing and still answers 200."""
        version = self._version(args)
        now = self.clock.now()
        version.skip_pending(now)
        self.skips += 1
        return wire.ok(resources.pipeline_version(version, now))

    def reset_pipeline_version(self, request: Request, args: dict[str, Any]) -> Response:
        """§2 resetPipelineVersion: re-run `steps` (null or empty: all) and, unless `includeDownstreamSteps`
        is false, the steps downstream of them. Only a finished version can be reset: 409 ConflictError
        otherwise ([U])."""
        version = self._version(args)
        now = self.clock.now()
        if version.lifecycle_status(now) in ACTIVE:
            raise ApiError(409, CONFLICT, f"Pipeline version {version.version_id} is still running; it cannot be reset")
        steps = [step.step for step in version.step_versions]
        names = set(_string_list(args, "steps")) or {step.name for step in steps}
        unknown = sorted(names - {step.name for step in steps})
        if unknown:
            raise ApiError(400, INVALID_PARAMETER, f"Unknown steps for this pipeline version: {', '.join(unknown)}")
        if _boolean(args, "includeDownstreamSteps", True):
            names = downstream(steps, names)
        reused: Iterator[str] = iter([s.step_version_id for s in version.step_versions if s.name in names])
        keep = {s.name: s for s in version.step_versions if s.name not in names}
        start = now + timedelta(seconds=version.pipeline.pending_seconds)
        version.step_versions = plan_steps(steps, now, start, self.skipped_status, lambda: next(reused), keep)
        version.run_start, version.reset_at, version.pin = start, now, None
        self.resets += 1
        return wire.ok(resources.pipeline_version(version, now))

    # -- /_sim -------------------------------------------------------------------------------------------

    def _sim_add_pipeline(self, request: Request) -> Response:
        """`POST /_sim/pipelines`: a pipeline with scripted steps (catalog.spec_from_json); 200 + the Pipeline."""
        try:
            spec = spec_from_json(request.body)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        pipeline = self.add_pipeline(spec)
        return Response(200, resources.pipeline(pipeline, self.clock.now()))

    def _sim_pin(self, request: Request) -> Response:
        """`POST /_sim/versions/{id}/status` `{"status": "CANCELLED", "seconds": 60}`; null status unpins."""
        now = self.clock.now()
        pin = StatusPin.from_body(request.body, now)
        version = self.versions.get(request.params["version"])
        if version is None:
            return sim_error(404, f"No pipeline version {request.params['version']}.")
        version.pin = pin
        return Response(200, {"pipelineVersion": version.version_id, "status": version.status(now)})

    def _sim_answers(self, request: Request) -> Response:
        return Response(200, {"pending": [answer.to_json(left) for answer, left in self.answers]})

    def _sim_answers_add(self, request: Request) -> Response:
        """Body: one answer or a list of them (Answer.from_json); all are checked before any is queued."""
        body = request.body
        items = body if isinstance(body, list) else [body]
        self.script_answers(*[Answer.from_json(item) for item in items])
        return self._sim_answers(request)

    def _sim_answers_clear(self, request: Request) -> Response:
        self.answers.clear()
        return self._sim_answers(request)


_STATUS_MESSAGES = {
    429: "Too many requests. Please slow down and retry later.",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}


def declared_defaults(pipeline: Pipeline) -> list[dict[str, Any]]:
    """The mappings of a run that sets nothing: every declared variable at its declared value."""
    return [
        {"name": v["name"], "variableType": v["variableType"], "value": v["value"], "isRequired": v["isRequired"]}
        for v in pipeline.variables
    ]


def _find(step_versions: list[StepVersion], step_version_id: str) -> StepVersion | None:
    return next((step for step in step_versions if step.step_version_id == step_version_id), None)


# -- arguments -----------------------------------------------------------------------------------------


def _arguments(request: Request) -> dict[str, Any]:
    """A method's named arguments: the query string of a GET/DELETE, the JSON object body of a POST/PATCH."""
    if request.method in ("GET", "DELETE"):
        return dict(request.query)
    body = request.body
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, INVALID_REQUEST, "The request body must be a JSON object of named arguments")
    return body


def _text(args: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = args.get(key)
    if value is None or value == "":
        if required:
            raise ApiError(400, MISSING_PARAMETER, f"Missing required parameter: {key}")
        return None
    if not isinstance(value, str):
        raise ApiError(400, INVALID_PARAMETER, f"Invalid value for {key}: expected a string")
    return value


def _integer(args: dict[str, Any], key: str, default: int, minimum: int | None = None) -> int:
    value = args.get(key)
    if value is None or value == "":
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        number = int(value)
    if number is None or (minimum is not None and number < minimum):
        bound = "" if minimum is None else f" of at least {minimum}"
        raise ApiError(400, INVALID_PARAMETER, f"Invalid value for {key}: expected an integer{bound}")
    return number


def _boolean(args: dict[str, Any], key: str, default: bool) -> bool:
    value = args.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ApiError(400, INVALID_PARAMETER, f"Invalid value for {key}: expected a boolean")


def _string_list(args: dict[str, Any], key: str) -> list[str]:
    """A list-of-strings argument (null: empty); a GET sends it JSON-encoded (§1, SDK `_request`)."""
    value = args.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, INVALID_PARAMETER, f"Invalid value for {key}: expected a list of strings")
    return value


def create(clock: Clock, **options: Any) -> AbacusPlatform:
    """The registry's factory (`simulators.registry`)."""
    return AbacusPlatform(clock, **options)
