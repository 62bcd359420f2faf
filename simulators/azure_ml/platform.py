"""The Azure ML simulator: ARM Jobs API of one workspace, plus RunHistory run details and child runs on the
same port.

Faithful to /work/shared/reference/azureml-jobs.md ("the reference"); section numbers below point into it.
Where the reference is silent or [UNCONFIRMED], the rule chosen is written at the place it applies.
"""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from devkit.clock import Clock
from simulators.azure_ml import events, validation, workspace
from simulators.azure_ml.catalog import (
    DEFAULT_BEHAVIOUR,
    REGION,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    TEMPLATES,
    TENANT,
    WORKSPACE,
    identify,
)
from simulators.azure_ml.children import child_run_resource, child_runs
from simulators.azure_ml.jobs import TERMINAL, Job
from simulators.azure_ml.limits import READS, WRITES, TokenBucket
from simulators.azure_ml.wire import (
    arm_error,
    history_error_body,
    job_resource,
    output_uri,
    run_details,
)
from simulators.lifecycle import StatusPin
from simulators.routing import Request, Response, Route
from simulators.server import Platform, bearer_token, sim_error

PROVIDER = "/providers/Microsoft.MachineLearningServices"
WS = "/subscriptions/{sub}/resourceGroups/{rg}" + PROVIDER + "/workspaces/{ws}"
OPERATION_RESULTS = "/subscriptions/{sub}" + PROVIDER + "/locations/{region}/mfeOperationResults/{op_id}"
HISTORY = "/history/v1.0" + WS + "/runs/{name}/details"  # §2.7, the RunHistory data plane
CHILDREN = "/history/v1.0" + WS + "/runs/{name}/children"  # §1.1: how the SDK lists a pipeline's steps
API_VERSIONS = (
    "2024-10-01",  # the contract of the reference
    "2024-10-01-preview",
    "2025-01-01-preview",
    "2024-01-01-preview",  # what the SDK submits pipelines with (§1.3)
    "2023-02-01-preview",  # what the SDK cancels with (§1.3)
    "2025-12-01",
    # seen from azure-ai-ml 1.35.2 (tests/simulators/test_vendor_sdks.py): it cancels and polls the cancel
    # with 2023-04-01-preview (the reference, §1.3, read 2023-02-01-preview in an older SDK), reads the
    # workspace with 2024-10-01-preview (above) and the compute a pipeline names with 2023-08-01-preview
    "2023-04-01-preview",
    "2023-08-01-preview",
)
RUN_HISTORY_OPERATIONS = frozenset({"Runs_GetDetails", "Runs_GetChild", "Workspace_Discovery"})
"""Operations off ARM: no api-version, RunHistory's error shape."""
CANCEL_RETRY_AFTER = "10"  # §1.4: Retry-After on the cancel LRO, min 10 s
FORBIDDEN_TOKEN = "sim-forbidden"
"""A bearer token with this value is a principal without RBAC rights: ARM answers 403 (§3.2)."""
LIST_VIEW_TYPES = ("ActiveOnly", "ArchivedOnly", "All")
SCOPE_ERRORS = (
    ("sub", SUBSCRIPTION, "SubscriptionNotFound", "The subscription '{sub}' could not be found."),
    ("rg", RESOURCE_GROUP, "ResourceGroupNotFound", "Resource group '{rg}' could not be found."),
    (
        "ws",
        WORKSPACE,
        "ResourceNotFound",
        "The Resource 'Microsoft.MachineLearningServices/workspaces/{ws}' under resource group '{rg}' "
        "was not found.",
    ),
)
CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "NotFound",
    405: "MethodNotAllowed",
    429: "TooManyRequests",
    500: "ServiceError",
    503: "ServiceError",
    504: "GatewayTimeout",
}
ARM_LEVEL = frozenset({401, 403, 404, 405, 429, 504})
"""Statuses ARM answers itself (no MFE `additionalInfo`); the rest come from MFE (§3.1)."""


class AzureMLPlatform(Platform):
    """One workspace (`sim-ws` in `sim-rg` of subscription 0000...) seeded with DESIGN.md's catalog.

    Options: `page_size` of Jobs_List (small, so clients must follow nextLink, §1.1); `strict`
    refuses what the reference leaves open (read-only fields in a PUT, `$filter`/`$top`, inputs a
    template does not declare) instead of ignoring it; `cancel_seconds` is how long a job stays
    CancelRequested; `cancel_mode` "async" (202 + Location) or "immediate" (200, §1.4); `arm_limits`
    turns on ARM's subscription token buckets (`read_limit`/`write_limit` = capacity, refill/s);
    `running_seconds` maps template names to how long their clones stay Running (`{"long-pipeline": 7200}`
    makes it a two-hour job; benchmarks use it for jobs of any length); `children_page_size` is how many
    child runs a page of RunHistory `children` holds. `event_grid_webhook` subscribes a URL to the
    workspace's Event Grid system topic (events.py), with the `event_*` fault options there.
    """

    name = "azure_ml"
    events_source = "eventgrid"  # the workspace's Event Grid system topic (events.py)

    def __init__(
        self,
        clock: Clock,
        *,
        page_size: int = 2,
        strict: bool = False,
        cancel_seconds: float = 30.0,
        cancel_mode: str = "async",
        arm_limits: bool = False,
        read_limit: tuple[int, float] = READS,
        write_limit: tuple[int, float] = WRITES,
        running_seconds: Mapping[str, float] | None = None,
        children_page_size: int = 20,
        event_grid_webhook: str | None = None,
        **event_options: Any,
    ) -> None:
        super().__init__(clock)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if cancel_mode not in ("async", "immediate"):
            raise ValueError("cancel_mode must be 'async' or 'immediate'")
        self.page_size = page_size
        self.children_page_size = max(1, children_page_size)
        self.strict = strict
        self.cancel_delay = timedelta(seconds=cancel_seconds)
        self.cancel_mode = cancel_mode
        self.arm_limits = arm_limits
        self._limits = (read_limit, write_limit)
        unknown = sorted(set(running_seconds or {}) - set(TEMPLATES))
        if unknown:
            raise ValueError(f"running_seconds names no template: {', '.join(unknown)}")
        self.behaviours = {
            name: replace(t.behaviour, timeline=t.behaviour.timeline.holding("Running", running_seconds[name]))
            if name in (running_seconds or {}) else t.behaviour
            for name, t in TEMPLATES.items()
        }
        self.observers: list[Callable[[], None]] = []  # told when a job is created, cancelled or pinned
        self.status_reads: Counter[str] = Counter()
        self.publisher: events.EventGridPublisher | None = None
        faults = events.EventFaults(**{k.removeprefix("event_"): v for k, v in event_options.items()
                                       if k.startswith("event_")})
        unknown = sorted(k for k in event_options if not k.startswith("event_"))
        if unknown:
            raise TypeError(f"unknown azure_ml option(s): {', '.join(unknown)}")
        self._event_faults = faults
        self._started = False
        self.reset()
        if event_grid_webhook:
            self.subscribe(event_grid_webhook)

    def subscribe(self, webhook: str) -> None:
        """Subscribe `webhook` to the workspace's run status events (one subscriber; later calls move it)."""
        if self.publisher is not None:
            self.publisher.webhook, self.publisher.validated = webhook, False
            return
        self.publisher = events.EventGridPublisher(self, webhook, self._event_faults)
        self.observers.append(self.publisher.changed)
        if self._started:
            self.publisher.start()

    def start(self) -> None:
        self._started = True
        if self.publisher is not None:
            self.publisher.start()

    def stop(self) -> None:
        if self.publisher is not None:
            self.publisher.stop()

    def _changed(self) -> None:
        for observer in self.observers:
            observer()

    # -- state ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Seed the three templates as finished runs of the past; zero every counter."""
        now = self.clock.now()
        self.seeded_at = now
        self.jobs: dict[str, Job] = {}
        self.operations: dict[str, tuple[str, str, str]] = {}  # id -> (kind, job name, api-version)
        self._seq = 0
        self.created = 0
        self.cancels = 0
        self.unsupported_params: Counter[str] = Counter()
        self.puts_without_aml_token = 0
        self._buckets = {"reads": TokenBucket(*self._limits[0]), "writes": TokenBucket(*self._limits[1])}
        for template in TEMPLATES.values():
            properties = validation.normalise(template.properties)
            self._add(template.name, properties, template.name, now - template.age, created_by="sim-admin")
        self.status_reads = Counter()
        if getattr(self, "publisher", None) is not None:
            self.publisher.reset()

    def _add(
        self,
        name: str,
        properties: dict[str, Any],
        template: str | None,
        created: datetime,
        created_by: str = "sim-user",
    ) -> Job:
        self._seq += 1
        behaviour = self.behaviours[template] if template else DEFAULT_BEHAVIOUR
        job = Job(name, self._seq, created, properties, behaviour, created_by)
        self.jobs[name] = job
        return job

    def stats(self) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "remoteJobsCreated": self.created,
            "runningNow": sum(1 for job in self.jobs.values() if job.status(now) not in TERMINAL),
            "jobs": len(self.jobs),
            "cancelsRequested": self.cancels,
            "unsupportedListParams": dict(self.unsupported_params),
            "pipelinePutsWithoutAzureMLToken": self.puts_without_aml_token,
            "statusReadsByJob": dict(self.status_reads),  # Jobs_Get per job
            **(self.publisher.stats() if self.publisher is not None else {}),
        }

    # -- routes --------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        # §1: the five Jobs operations, by operationId; ARM paths match case-insensitively, names do not
        return [
            Route("GET", WS + "/jobs", "Jobs_List", self.list_jobs, ignore_case=True),
            Route("GET", WS + "/jobs/{name}", "Jobs_Get", self.get_job, ignore_case=True),
            Route("PUT", WS + "/jobs/{name}", "Jobs_CreateOrUpdate", self.put_job, ignore_case=True),
            Route("DELETE", WS + "/jobs/{name}", "Jobs_Delete", self.delete_job, ignore_case=True),
            Route("POST", WS + "/jobs/{name}/cancel", "Jobs_Cancel", self.cancel_job, ignore_case=True),
            Route(
                "GET", OPERATION_RESULTS, "MfeOperationResults_Get", self.operation_result, ignore_case=True
            ),
            Route("GET", HISTORY, "Runs_GetDetails", self.get_run_details, ignore_case=True),
            Route("GET", CHILDREN, "Runs_GetChild", self.get_run_children, ignore_case=True),
            # read-only neighbours the azure-ai-ml SDK needs (workspace.py: shapes invented, not in the reference)
            Route("GET", WS, "Workspaces_Get", self.get_workspace, ignore_case=True),
            Route("GET", WS + "/computes/{compute}", "Compute_Get", self.get_compute, ignore_case=True),
            Route("GET", workspace.DISCOVERY_PATH, "Workspace_Discovery", self.get_discovery, auth=False),
        ]

    def sim_routes(self) -> list[Route]:
        return [Route("POST", "/_sim/jobs/{name}/status", "_sim.status", self.set_status, auth=False)]

    # -- errors, checks, headers ---------------------------------------------------------------------

    def error_response(self, request: Request | None, status: int, message: str) -> Response:
        code = CODES.get(status, "ServiceError" if status >= 500 else "BadRequest")
        now = self.clock.now()
        if request is not None and request.operation in RUN_HISTORY_OPERATIONS:
            return Response(status, history_error_body(code, message, now), {"x-ms-response-type": "error"})
        if status == 500:
            message = "InternalServerError"  # §3.1: MFE's ServiceError carries this message
        headers = {}
        if status == 429 and request is not None:
            headers[f"x-ms-ratelimit-remaining-subscription-{_quota(request)}"] = "0"  # §3.2
        return arm_error(status, code, message, now, mfe=status not in ARM_LEVEL, headers=headers)

    def auth_error(self, request: Request, missing: bool) -> Response:
        # §3.2: ARM's 401 body and its WWW-Authenticate challenge
        if missing:
            code, message = (
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
        else:
            code, message = "InvalidAuthenticationToken", "The access token is invalid."
        challenge = (
            f'Bearer authorization_uri="https://login.windows.net/{TENANT}", error="invalid_token", '
            f'error_description="{message}"'
        )
        if request.operation in RUN_HISTORY_OPERATIONS:
            body = history_error_body(code, message, self.clock.now())
            return Response(401, body, {"WWW-Authenticate": challenge, "x-ms-response-type": "error"})
        return arm_error(
            401, code, message, self.clock.now(), mfe=False, headers={"WWW-Authenticate": challenge}
        )

    def check(self, request: Request) -> Response | None:
        """403 for the no-permission principal, api-version (ARM only), scope, and optional ARM quotas."""
        arm = request.operation not in RUN_HISTORY_OPERATIONS
        if bearer_token(request) == FORBIDDEN_TOKEN:
            return self._forbidden(request)
        if arm:
            refusal = self._check_api_version(request)
            if refusal is not None:
                return refusal
        refusal = self._check_scope(request)
        if refusal is not None:
            return refusal
        if arm and self.arm_limits:
            kind = _quota(request)
            allowed, retry_after = self._buckets[kind].take(self.clock.now())
            if not allowed:
                message = (
                    f"Number of '{kind[:-1]}' requests for subscription '{SUBSCRIPTION}' exceeded the limit."
                )
                response = self.error_response(request, 429, message)
                return response._replace(
                    headers={**(response.headers or {}), "Retry-After": str(retry_after)}
                )
        return None

    def _forbidden(self, request: Request) -> Response:
        action = {"GET": "read", "PUT": "write", "DELETE": "delete"}.get(request.method, "cancel/action")
        message = (
            f"The client 'sim-user' with object id '{uuid.UUID(int=403)}' does not have authorization "
            f"to perform action 'Microsoft.MachineLearningServices/workspaces/jobs/{action}' "
            f"over scope '{request.path}' "
            "or the scope is invalid. If access was recently granted, please refresh your credentials."
        )
        return arm_error(403, "AuthorizationFailed", message, self.clock.now(), mfe=False)

    def _check_api_version(self, request: Request) -> Response | None:
        # §1: every ARM call needs api-version; ARM's own error codes for a missing or unknown one
        version = request.query.get("api-version")
        now = self.clock.now()
        if not version:
            message = "The api-version query parameter (?api-version=) is required for all requests."
            return arm_error(400, "MissingApiVersionParameter", message, now, mfe=False)
        if version not in API_VERSIONS:
            message = (
                f"No registered resource provider found for location '{REGION}' and API version '{version}' "
                f"for type 'workspaces/jobs'. The supported api-versions are '{', '.join(API_VERSIONS)}'."
            )
            return arm_error(400, "NoRegisteredProviderFound", message, now, mfe=False)
        return None

    def _check_scope(self, request: Request) -> Response | None:
        # §3.2 [UNCONFIRMED for this provider]: ARM-level 404s for a wrong subscription, group or workspace
        params = {"sub": SUBSCRIPTION, "rg": RESOURCE_GROUP, "ws": WORKSPACE, **request.params}
        for key, expected, code, message in SCOPE_ERRORS:
            if params[key].lower() != expected:
                return arm_error(404, code, message.format(**params), self.clock.now(), mfe=False)
        return None

    def decorate(self, request: Request, response: Response) -> Response:
        # §3.1: the request-id headers MFE/ARM put on every answer
        request_id = str(uuid.uuid4())
        headers = {
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": request_id,
            **(response.headers or {}),
        }
        if self.arm_limits and request.operation not in RUN_HISTORY_OPERATIONS and response.status != 429:
            kind = _quota(request)
            headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = str(int(self._buckets[kind].tokens))
        return response._replace(headers=headers)

    def _not_found(self, name: str) -> Response:
        # §3.2: 404 UserError "Job {name} not found." with MFE's InnerError NotFoundError
        inner = {"code": "NotFoundError", "innerError": None}
        return arm_error(404, "UserError", f"Job {name} not found.", self.clock.now(), inner=inner)

    # -- Jobs_List -----------------------------------------------------------------------------------

    def list_jobs(self, request: Request) -> Response:
        """§1.1: `$skip` continuation, `jobType`, `tag`, `listViewType`, `properties`; newest first."""
        query, now = request.query, self.clock.now()
        unsupported = [name for name in ("$filter", "$top") if name in query]
        if unsupported and self.strict:
            message = f"Jobs_List does not support {' or '.join(unsupported)}; filter client-side."
            return arm_error(400, "BadRequest", message, now)
        # Default: ignore them as the service likely does (§1.1 [UNCONFIRMED]), but count them
        self.unsupported_params.update(unsupported)
        view = next(
            (v for v in LIST_VIEW_TYPES if v.lower() == query.get("listViewType", "ActiveOnly").lower()), None
        )
        if view is None:
            message = f"listViewType must be one of {', '.join(LIST_VIEW_TYPES)}."
            return arm_error(400, "BadRequest", message, now, target="listViewType")
        after = None
        if "$skip" in query:
            after = _decode_token(query["$skip"])
            if after is None:
                return arm_error(400, "BadRequest", "The continuation token ($skip) is not valid.", now)
        wanted = _property_filter(query.get("properties"))
        matching = [
            job
            for job in sorted(
                self.jobs.values(), key=lambda j: j.seq, reverse=True
            )  # sort order: [UNCONFIRMED]
            if (after is None or job.seq < after) and _listed(job, view, query, wanted)
        ]
        page = matching[: self.page_size]
        body: dict[str, Any] = {"value": [job_resource(job, now) for job in page]}
        if len(matching) > len(page):  # §1.1: nextLink absent on the last page
            body["nextLink"] = _next_link(request, page[-1].seq)
        return Response(200, body)

    # -- Jobs_Get / Jobs_CreateOrUpdate / Jobs_Delete ------------------------------------------------

    def get_job(self, request: Request) -> Response:
        """§1.2: 200 with the JobBaseResource, or 404 UserError."""
        job = self.jobs.get(request.params["name"])  # §1: names are case-sensitive
        self.status_reads[request.params["name"]] += 1
        if job is None:
            return self._not_found(request.params["name"])
        return Response(200, job_resource(job, self.clock.now()))

    def put_job(self, request: Request) -> Response:
        """§1.3: create (201, NotStarted) or update the mutable fields of an existing name (200)."""
        name, now = request.params["name"], self.clock.now()
        details = validation.problems(name, request.body, self.strict)
        if details:
            message = "; ".join(f"{d['target']}: {d['message']}" for d in details)
            return arm_error(
                400, "ValidationError", message, now, details=details, target=details[0]["target"]
            )
        props = validation.normalise(request.body["properties"])
        if props["jobType"] == "Pipeline" and not request.header("x-azureml-token"):
            self.puts_without_aml_token += 1  # §1.3: whether the service requires it is [UNCONFIRMED]
        existing = self.jobs.get(name)
        if existing is not None:
            return self._update(existing, request.body["properties"], props)
        template = identify(props)
        if self.strict and template is not None:
            unknown = sorted(set(props.get("inputs") or {}) - set(TEMPLATES[template].properties["inputs"]))
            if unknown:  # §2.1: no documented code for an undeclared input [UNCONFIRMED]; strict mode only
                inner = {"code": "InputNotFound", "innerError": None}
                message = f"Input(s) {', '.join(unknown)} are not declared by pipeline '{template}'."
                return arm_error(400, "UserError", message, now, inner=inner, target="inputs")
        job = self._add(name, props, template, now)
        self.created += 1
        self._changed()
        return Response(201, job_resource(job, now))

    def _update(self, job: Job, sent: dict[str, Any], props: dict[str, Any]) -> Response:
        now = self.clock.now()
        for output_name, output in (props.get("outputs") or {}).items():
            # a GET -> PUT round trip sends back the uri the service filled in: that is no change
            if isinstance(output, dict) and output.get("uri") == output_uri(
                job.name, output_name, output.get("jobOutputType", "")
            ):
                output["uri"] = None
        changed = validation.changed_user_properties(job.properties["properties"], props["properties"])
        if validation.immutable_view(props) != validation.immutable_view(job.properties) or changed:
            # §1.3: HTTP status of this error is [UNCONFIRMED]; 400 as the reference's simulator notes assume
            message = (
                f"A job with this name already exists: '{job.name}'. "
                "The existing job's Settings, Inputs, Outputs, "
                "Jobs, InputBindings, OutputBindings cannot be changed; only description, tags, displayName, "
                "properties (new keys) and isArchived can."
            )
            inner = {"code": "Immutable", "innerError": {"code": "JobPropertyImmutable", "innerError": None}}
            return arm_error(400, "UserError", message, now, inner=inner)
        stored = job.properties
        for key in ("description", "displayName", "isArchived"):
            if key in sent:
                stored[key] = props[key]
        stored["tags"] = props["tags"]  # the spec: "the Tags in the definition passed in will replace Tags"
        stored["properties"] = {**stored["properties"], **props["properties"]}
        job.modified_at = now
        return Response(200, job_resource(job, now))

    def delete_job(self, request: Request) -> Response:
        """§1.5: 202 with Location (the job is gone at once), or 204 when there is no such job."""
        job = self.jobs.pop(request.params["name"], None)
        if job is None:
            return Response(204)
        location = self._new_operation(request, "delete", job.name)
        return Response(
            202,
            None,
            {"Location": location, "Retry-After": CANCEL_RETRY_AFTER, "x-ms-async-operation-timeout": "PT1H"},
        )

    # -- Jobs_Cancel and its long-running operation --------------------------------------------------

    def cancel_job(self, request: Request) -> Response:
        """§1.4: 202 + Location + Retry-After; the job goes CancelRequested, then Canceled.

        Cancelling a finished job ([UNCONFIRMED]) answers 200 with a Location that is already done and
        leaves the job as it is: a client cancelling on timeout races the job's own end.
        """
        job = self.jobs.get(request.params["name"])
        if job is None:
            return self._not_found(request.params["name"])
        now = self.clock.now()
        delay = self.cancel_delay if self.cancel_mode == "async" else timedelta(0)
        active = job.request_cancel(now, delay)
        if active:
            self.cancels += 1
            self._changed()
        location = self._new_operation(request, "cancel", job.name)
        if not active or self.cancel_mode == "immediate":
            return Response(200, None, {"Location": location})
        return Response(202, None, {"Location": location, "Retry-After": CANCEL_RETRY_AFTER})

    def _new_operation(self, request: Request, kind: str, name: str) -> str:
        # §1.4 [UNCONFIRMED form]: .../locations/{region}/mfeOperationResults/{id}
        op_id = uuid.uuid4().hex
        version = request.query.get("api-version", API_VERSIONS[0])
        self.operations[op_id] = (kind, name, version)
        return _operation_url(request.base_url, op_id, version)

    def operation_result(self, request: Request) -> Response:
        """§1.4: 202 (Location, Retry-After) until the job is Canceled, then 200 without a body."""
        op_id = request.params["op_id"]
        operation = self.operations.get(op_id)
        if operation is None:
            return arm_error(404, "NotFound", f"Operation {op_id} not found.", self.clock.now())
        kind, name, version = operation
        job = self.jobs.get(name)
        if kind == "cancel" and job is not None and job.lifecycle_status(self.clock.now()) not in TERMINAL:
            location = _operation_url(request.base_url, op_id, version)
            return Response(202, None, {"Location": location, "Retry-After": CANCEL_RETRY_AFTER})
        return Response(200)

    # -- RunHistory ----------------------------------------------------------------------------------

    def get_run_details(self, request: Request) -> Response:
        """§2.7: RunHistory run details with status, start/end times and error; 404 "Run X was not found"."""
        job = self.jobs.get(request.params["name"])
        now = self.clock.now()
        if job is None:
            inner = {"code": "NotFoundError", "innerError": None}
            body = history_error_body("UserError", f"Run {request.params['name']} was not found", now, inner)
            return Response(404, body, {"x-ms-response-type": "error"})
        return Response(200, run_details(job, now))

    def get_run_children(self, request: Request) -> Response:
        """§1.1 (RunHistory `get_child`): a PaginatedRunList of the run's child runs, oldest first.

        [invented] paging: `children_page_size` runs a page, `nextLink` carrying an opaque
        `$continuationtoken` (the SDK follows nextLink); `$top` caps how many are listed in all.
        """
        job = self.jobs.get(request.params["name"])
        now = self.clock.now()
        if job is None:
            inner = {"code": "NotFoundError", "innerError": None}
            body = history_error_body("UserError", f"Run {request.params['name']} was not found", now, inner)
            return Response(404, body, {"x-ms-response-type": "error"})
        children = child_runs(job, now)
        top = request.query.get("$top")
        if top is not None:
            if not top.isdigit() or int(top) < 1:
                body = history_error_body("UserError", "$top must be a positive integer", now)
                return Response(400, body, {"x-ms-response-type": "error"})
            children = children[: int(top)]
        start = _decode_token(request.query.get("$continuationtoken", "")) or 0
        chosen = children[start : start + self.children_page_size]
        end = start + len(chosen)
        next_link = None
        if end < len(children):
            kept = {k: v for k, v in request.query.items() if k == "$top"}
            kept["$continuationtoken"] = _encode_token(end)
            next_link = f"{request.base_url}{request.path}?{urlencode(kept, safe='$')}"
        value = [child_run_resource(child, job) for child in chosen]
        return Response(200, {"value": value, "continuationToken": None if next_link is None else
                              kept["$continuationtoken"], "nextLink": next_link})

    # -- the workspace around the jobs (read-only, for the SDK) ---------------------------------------

    def _created(self) -> datetime:
        return self.seeded_at - timedelta(days=30)

    def _missing(self, kind: str, name: str) -> Response:
        # [invented] ARM's ResourceNotFound, as for an unknown workspace (SCOPE_ERRORS)
        message = (
            f"The Resource 'Microsoft.MachineLearningServices/workspaces/{WORKSPACE}/{kind}/{name}' under "
            f"resource group '{RESOURCE_GROUP}' was not found."
        )
        return arm_error(404, "ResourceNotFound", message, self.clock.now(), mfe=False)

    def get_workspace(self, request: Request) -> Response:
        return Response(200, workspace.workspace_resource(request.base_url, self._created()))

    def get_discovery(self, request: Request) -> Response:
        return Response(200, workspace.discovery(request.base_url))

    def get_compute(self, request: Request) -> Response:
        name = request.params["compute"]
        if name not in workspace.COMPUTES:
            return self._missing("computes", name)
        return Response(200, workspace.compute_resource(name, self._created()))

    # -- /_sim -------------------------------------------------------------------------------------

    def set_status(self, request: Request) -> Response:
        """Pin a job's status, e.g. `{"status": "NotResponding", "seconds": 300}` (§2.5); null unpins.

        Without `seconds` the status holds until unpinned or reset. Any string is accepted: the enum
        is open (modelAsString), so a client must survive values it does not know.
        """
        job = self.jobs.get(request.params["name"])
        if job is None:
            return sim_error(404, f"No job {request.params['name']}.")
        now = self.clock.now()
        job.pin = StatusPin.from_body(request.body, now)
        self._changed()
        return Response(200, {"name": job.name, "status": job.status(now)})


def _quota(request: Request) -> str:
    """Which ARM subscription quota a request spends (§3.2): reads for GET, writes for the rest."""
    return "reads" if request.method == "GET" else "writes"


def _operation_url(base_url: str, op_id: str, version: str) -> str:
    path = f"/subscriptions/{SUBSCRIPTION}{PROVIDER}/locations/{REGION}/mfeOperationResults/{op_id}"
    return f"{base_url}{path}?{urlencode({'api-version': version})}"


def _encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        return int(number) if prefix == "seq" else None
    except (ValueError, UnicodeDecodeError):
        return None


def _next_link(request: Request, last_seq: int) -> str:
    """§1.1: an absolute URL that already carries api-version, the filters and `$skip` (an opaque cursor)."""
    kept = {
        k: v
        for k, v in request.query.items()
        if k in ("api-version", "jobType", "tag", "listViewType", "properties")
    }
    kept["$skip"] = _encode_token(last_seq)
    return f"{request.base_url}{request.path}?{urlencode(kept, safe='$,=')}"


def _property_filter(text: str | None) -> dict[str, str | None]:
    """`prop1,prop2=value2` (§1.1) as {name: required value or None}."""
    wanted: dict[str, str | None] = {}
    for item in (text or "").split(","):
        key, sep, value = item.strip().partition("=")
        if key:
            wanted[key] = value if sep else None
    return wanted


def _listed(job: Job, view: str, query: dict[str, str], wanted: dict[str, str | None]) -> bool:
    props = job.properties
    archived = bool(props.get("isArchived"))
    if (view == "ActiveOnly" and archived) or (view == "ArchivedOnly" and not archived):
        return False
    if "jobType" in query and str(props.get("jobType", "")).lower() != query["jobType"].lower():
        return False
    if "tag" in query and query["tag"] not in (props.get("tags") or {}):
        return False
    user = props.get("properties") or {}
    return all(key in user and (value is None or user[key] == value) for key, value in wanted.items())


def create(clock: Clock, **options: Any) -> AzureMLPlatform:
    """The registry's factory (`simulators.registry`)."""
    return AzureMLPlatform(clock, **options)
