"""Azure ML pipeline jobs over the ARM Jobs API 2024-10-01 (reference/azureml-jobs.md), plus RunHistory
for start/end times and error text (§2.7: ARM has neither).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from core.connections import Connection
from core.errors import ValidationError
from core.parameters import Direction, inputs_to_send
from core.run_request import RunRequest
from core.status import ErrorCode, RunStatus, map_status
from platforms.auth import BearerToken, credential_for
from platforms.base import JobInfo, JobParameter, JobsPage, RemoteState, Submitted
from platforms.http import IN_ACTIVITY, ErrorKind, HttpClient, PlatformError, RetryPolicy, none_if_missing

from .clone import RUN_ID_TAG, build_clone, job_name, literal_problem

log = logging.getLogger("runbridge.azure_ml")
API_VERSION = "2024-10-01"
ML_SCOPE = "https://ml.azure.com/.default"  # audience of x-azureml-token and RunHistory (§1.3, §2.7)

# Every JobStatus of §2.5. CancelRequested stays Running until the job ends (§1.4); NotResponding and
# Paused may go back to an earlier state (the spec's words), so they are Unknown, polled under the
# unknown budget, not terminal as the SDK treats them.
STATUS_TABLE: Mapping[str, RunStatus] = {
    "NotStarted": RunStatus.STARTING,
    "Starting": RunStatus.STARTING,
    "Provisioning": RunStatus.STARTING,
    "Preparing": RunStatus.STARTING,
    "Queued": RunStatus.STARTING,
    "Running": RunStatus.RUNNING,
    "Finalizing": RunStatus.RUNNING,
    "CancelRequested": RunStatus.RUNNING,
    "Completed": RunStatus.SUCCESS,
    "Failed": RunStatus.FAILED,
    "Canceled": RunStatus.CANCELLED,
    "NotResponding": RunStatus.UNKNOWN,
    "Paused": RunStatus.UNKNOWN,
    "Unknown": RunStatus.UNKNOWN,
}
TEMPLATE_CACHE_SECONDS = 60.0


class AzureMLClient:
    """One workspace: submit clones of template pipeline jobs, poll, cancel, read outputs, list templates."""

    def __init__(self, connection: Connection, arm: HttpClient, history: HttpClient,
                 ml_token: Callable[[], str], clock: Callable[[], float] = time.monotonic) -> None:
        s = connection.settings
        self.connection = connection
        self.arm = arm
        self.history = history
        self._ml_token = ml_token
        self._clock = clock
        self.workspace_path = (f"/subscriptions/{s['subscriptionId']}/resourceGroups/{s['resourceGroup']}"
                               f"/providers/Microsoft.MachineLearningServices/workspaces/{s['workspace']}")
        self._templates: dict[str, tuple[float, dict[str, Any] | None]] = {}

    # ---- reads ---------------------------------------------------------------------------------
    def _job_path(self, name: str) -> str:
        return f"{self.workspace_path}/jobs/{quote(name, safe='')}"

    def get_job(self, name: str) -> dict[str, Any] | None:
        """The job resource, or None when the workspace has no job of that name."""
        return none_if_missing(lambda: self.arm.request_json("GET", self._job_path(name), operation="Jobs_Get",
                                                             params={"api-version": API_VERSION}))

    def template(self, name: str) -> dict[str, Any] | None:
        """The template job, cached briefly (the starter checks every request against it)."""
        cached = self._templates.get(name)
        if cached and self._clock() - cached[0] < TEMPLATE_CACHE_SECONDS:
            return cached[1]
        job = self.get_job(name)
        if job is not None:  # a "not found" is never kept: it may be one stray 404
            self._templates[name] = (self._clock(), job)
        return job

    # ---- verbs -------------------------------------------------------------------------------
    def check_request(self, request: RunRequest) -> None:
        """400-worthy problems: no such template, not a pipeline, an input the template does not declare."""
        job = self.template(request.job)
        _check_against_template(request, job, self.connection.settings["workspace"])

    def describe(self, job: str) -> JobInfo | None:
        """The template as discovery lists it (inputs, and outputs with their types), or None."""
        template = self.template(job)
        return None if template is None else _job_info(template, self)

    def submit(self, request: RunRequest, run_id: str) -> Submitted:
        """PUT the clone under a name derived from the run id; find it instead if it already exists.

        A PUT that timed out or failed with a 5xx may have created the job (§1.3: a gateway timeout can
        leave an orphaned job), so the name is read back before any retry: one run, one remote job.
        """
        name = job_name(run_id)
        existing = self.find(request, run_id)
        if existing is not None:
            return existing
        path, params, body = self._clone_put(request, run_id, self.get_job(request.job))
        headers = {"x-azureml-token": self._ml_token()}  # the SDK sends it on pipeline PUTs (§1.3)
        try:
            # an HTML 200 or a cut 201 is transient too: the job may exist, so it is read back below
            created = self.arm.request_json("PUT", path, operation="Jobs_CreateOrUpdate", params=params, json=body,
                                            headers=headers, retry=_PUT_RETRY)
        except PlatformError as exc:
            if not exc.transient:
                raise
            found = self.get_job(name)
            if found is not None:
                log.info("PUT of %s failed (%s) but the job exists: using it", name, exc.code)
                return self._submitted(found, run_id)
            raise  # the orchestrator tries again after the Retry-After, reading the name back first
        return self._submitted(created, run_id)

    def find(self, request: RunRequest, run_id: str) -> Submitted | None:
        """The job under the name derived from the run id, or None."""
        found = self.get_job(job_name(run_id))
        return None if found is None else self._submitted(found, run_id)

    def preview(self, request: RunRequest, run_id: str) -> dict[str, Any]:
        """The PUT of the clone a submit would send (template read now, nothing written)."""
        path, params, body = self._clone_put(request, run_id, self.get_job(request.job))
        return self.arm.describe("PUT", path, params=params, json=body)

    def probe(self) -> None:
        """One page of the workspace's pipeline jobs: needs the same read permission runs need."""
        self.arm.request_json("GET", f"{self.workspace_path}/jobs", operation="Jobs_List",
                              params={"api-version": API_VERSION, "jobType": "Pipeline"})

    def get_state(self, remote_run_id: str) -> RemoteState:
        job = self.get_job(remote_run_id)
        if job is None:
            return RemoteState.vanished(f"Job {remote_run_id} in the workspace")
        remote = (job.get("properties") or {}).get("status")
        status = map_status(STATUS_TABLE, remote)
        started = ended = error = None
        if status in (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED):
            started, ended, error = self._run_details(remote_run_id)
        return RemoteState(status, remote, started_at=started, ended_at=ended, error=error)

    def cancel(self, remote_run_id: str) -> None:
        """POST cancel (a long-running operation, §1.4); 200 and 202 both mean accepted, then poll the job."""
        self.arm.request("POST", self._job_path(remote_run_id) + "/cancel", operation="Jobs_Cancel",
                         params={"api-version": API_VERSION})

    def outputs(self, remote_run_id: str, request: RunRequest) -> dict[str, str]:
        """Each declared pipeline output's location (§2.4: there is no result value, only a uri). The job is
        this run's own: a 404 is a PlatformError (maybe stray, the caller asks again), never "no outputs"."""
        job = self.arm.request_json("GET", self._job_path(remote_run_id), operation="Jobs_Get",
                                    params={"api-version": API_VERSION})
        found: dict[str, str] = {}
        for name, output in ((job.get("properties") or {}).get("outputs") or {}).items():
            value = output.get("uri") or output.get("assetName") or output.get("value")
            if value:
                found[name] = str(value)
        return found

    def monitor_url(self, remote_run_id: str) -> str:
        """The Studio link (§2.6 form) built from the workspace, for when the job has none."""
        s = self.connection.settings
        url = (f"https://ml.azure.com/runs/{quote(remote_run_id)}?wsid=/subscriptions/{s['subscriptionId']}"
               f"/resourcegroups/{s['resourceGroup']}/workspaces/{s['workspace']}")
        return url + (f"&tid={s['tenantId']}" if s.get("tenantId") else "")

    def list_jobs(self, page_token: str | None = None) -> JobsPage:
        """Pipeline jobs that can serve as templates (not runbridge's own clones), one platform page at a time.

        Jobs_List has no $filter or $top (§1.1): ask for jobType=Pipeline, follow nextLink, filter here.
        """
        if page_token:
            body = self.arm.request_json("GET", self._own_next_link(page_token), operation="Jobs_List")
        else:
            body = self.arm.request_json("GET", f"{self.workspace_path}/jobs", operation="Jobs_List",
                                         params={"api-version": API_VERSION, "jobType": "Pipeline"})
        jobs = [_job_info(job, self) for job in body.get("value") or []
                if RUN_ID_TAG not in ((job.get("properties") or {}).get("tags") or {})]
        return JobsPage(jobs, body.get("nextLink"))

    # ---- helpers -----------------------------------------------------------------------------
    def _own_next_link(self, link: str) -> str:
        """`link` when it is a next page of this workspace's job list (§1.1 nextLink), else PlatformError:
        the bearer token goes to no other path of the ARM host (discovery tokens are also signed)."""
        parts = urlsplit(link)
        if unquote(parts.path).rstrip("/").lower() != f"{self.workspace_path}/jobs".lower() or parts.fragment:
            raise PlatformError(ErrorKind.PERMANENT, "Refusing a page link outside the workspace's job list.",
                                code="ForeignUrl", operation="Jobs_List")
        return self.arm.url(link)  # and on the connection's own origin

    def _clone_put(self, request: RunRequest, run_id: str, template: Mapping[str, Any] | None
                   ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(path, query, body) of the PUT that creates this run's clone; ValidationError for a bad request."""
        _check_against_template(request, template, self.connection.settings["workspace"])
        body = build_clone(template or {}, request.job, run_id, inputs_to_send(request.parameters))
        return self._job_path(job_name(run_id)), {"api-version": API_VERSION}, body

    def _submitted(self, job: Mapping[str, Any], run_id: str) -> Submitted:
        props = job.get("properties") or {}
        owner = (props.get("tags") or {}).get(RUN_ID_TAG)
        if owner not in (None, run_id):
            raise PlatformError(ErrorKind.PERMANENT, f"Job {job.get('name')} belongs to another run.",
                                code="Conflict")
        name = job.get("name") or job_name(run_id)
        studio = ((props.get("services") or {}).get("Studio") or {}).get("endpoint")
        return Submitted(name, studio or self.monitor_url(name), props.get("status"))

    def _run_details(self, name: str) -> tuple[str | None, str | None, str | None]:
        """Start, end and error text from RunHistory (§2.7); details that are missing (not found, refused)
        never fail a poll, while a transient failure makes the poll transient so the end is read whole."""
        try:
            details = self.history.request_json(
                "GET", f"/history/v1.0{self.workspace_path}/runs/{quote(name)}/details", operation="Runs_GetDetails")
        except PlatformError as exc:
            if exc.transient:
                raise  # a gateway page or a cut answer: the poll is tried again, and the end is read whole
            log.info("RunHistory details for %s unavailable: %s", name, exc.code)
            return None, None, None
        error = details.get("error") or {}
        message = (error.get("error") or {}).get("message") if isinstance(error, dict) else None
        return details.get("startTimeUtc"), details.get("endTimeUtc"), message and self.history.redact(str(message))


def remote_name(job: str, run_id: str) -> str:
    """The name of the job a run makes (platforms/remote_names.py): derived from the run id (§1.3)."""
    return job_name(run_id)


_PUT_RETRY = RetryPolicy(read=0, status=0)  # a PUT that may have landed is read back, not re-sent


def _check_against_template(request: RunRequest, job: Mapping[str, Any] | None, workspace: str) -> None:
    if job is None:
        raise ValidationError("job", f"is not a job in workspace {workspace}", code=ErrorCode.NOT_FOUND)
    props = job.get("properties") or {}
    if props.get("jobType") != "Pipeline":
        raise ValidationError("job", "is not a pipeline job (jobType must be Pipeline)")
    declared = props.get("inputs") or {}
    for index, parameter in enumerate(request.parameters):
        if not parameter.direction.sends or (parameter.value is None and parameter.name not in request.given_later):
            continue
        if parameter.name not in declared:
            raise ValidationError(f"parameters[{index}].name", f"is not an input of template {request.job}")
        if parameter.value is None:  # given later by a chain binding: its value is checked when it is known
            continue
        problem = literal_problem(parameter.value)
        if problem:
            raise ValidationError(f"parameters[{index}].value", problem)


def _job_info(job: Mapping[str, Any], client: AzureMLClient) -> JobInfo:
    props = job.get("properties") or {}
    parameters = [JobParameter(name, Direction.INPUT.value, "string", False, (entry or {}).get("value"))
                  for name, entry in (props.get("inputs") or {}).items()]
    # A pipeline's outputs are asset locations (§2.4): the type says which kind (uri_folder, mlflow_model...).
    parameters += [JobParameter(name, Direction.OUTPUT.value, str((entry or {}).get("jobOutputType") or "uri_folder"))
                   for name, entry in (props.get("outputs") or {}).items()]
    name = job.get("name", "")
    return JobInfo(name, props.get("displayName"), props.get("description"), parameters, client.monitor_url(name))


def create_client(connection: Connection) -> AzureMLClient:
    """The client for an `azure_ml` connection, with tokens from the connection's identity."""
    s = connection.settings
    arm_endpoint = s["armEndpoint"]
    credential = credential_for(s, arm_endpoint)
    arm_token = BearerToken(credential, arm_endpoint.rstrip("/") + "/.default")
    ml_token = BearerToken(credential_for(s, s["historyEndpoint"]), ML_SCOPE)
    return AzureMLClient(connection, HttpClient(arm_endpoint, auth=arm_token.headers, retry=IN_ACTIVITY),
                         HttpClient(s["historyEndpoint"], auth=ml_token.headers, retry=IN_ACTIVITY), ml_token.token)
