"""Azure ML wire shapes: ARM and RunHistory error bodies, timestamps, the job resource, run details."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone
from typing import Any

from simulators.azure_ml.catalog import REGION, RESOURCE_GROUP, SUBSCRIPTION, TENANT, WORKSPACE, WORKSPACE_ID
from simulators.azure_ml.jobs import Job
from simulators.routing import Response

JOB_RESOURCE_TYPE = "Microsoft.MachineLearningServices/workspaces/jobs"  # azureml-jobs.md §2
DATASTORE_ROOT = "azureml://datastores/workspaceblobstore/paths/azureml"


def wire_time(moment: datetime) -> str:
    """ARM's timestamp form: 7 fractional digits and an offset, e.g. `2024-11-02T10:00:00.1234567+00:00`
    (azureml-jobs.md §2: a parser must accept it)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def _correlation() -> dict[str, str]:
    return {"operation": uuid.uuid4().hex, "request": uuid.uuid4().hex[:16]}


def mfe_additional_info(now: datetime, inner: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The `additionalInfo` entries MFE (the ML front end behind ARM) adds to errors (§3.1)."""
    info: list[dict[str, Any]] = [
        {"type": "ComponentName", "info": {"value": "managementfrontend"}},
        {"type": "Correlation", "info": {"value": _correlation()}},
        {"type": "Environment", "info": {"value": REGION}},
        {"type": "Location", "info": {"value": REGION}},
        {"type": "Time", "info": {"value": wire_time(now)}},
    ]
    if inner is not None:
        info.append({"type": "InnerError", "info": {"value": inner}})
    return info


def arm_error(
    status: int,
    code: str,
    message: str,
    now: datetime,
    *,
    mfe: bool = True,
    target: str | None = None,
    details: list[dict[str, Any]] | None = None,
    inner: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An ARM ErrorResponse `{"error": {code, message, target?, details, additionalInfo?}}` (§3.1).

    `mfe=False` is for errors ARM itself answers before the request reaches MFE (auth, api-version,
    throttling, unknown scope): those carry no MFE `additionalInfo`.
    """
    error: dict[str, Any] = {"code": code, "message": message}
    if target is not None:
        error["target"] = target
    if mfe:
        error["details"] = details or []
        error["additionalInfo"] = mfe_additional_info(now, inner)
    elif details:
        error["details"] = details
    return Response(status, {"error": error}, {"x-ms-response-type": "error", **(headers or {})})


def history_error_body(
    code: str, message: str, now: datetime, inner: dict[str, Any] | None = None
) -> dict[str, Any]:
    """RunHistory's ErrorResponse: `{error: {code, message, details, innerError}, correlation, time, ...}`
    (azureml-jobs.md §2.7); also the shape of a failed run's `error` field."""
    return {
        "error": {"code": code, "message": message, "details": [], "innerError": inner},
        "correlation": _correlation(),
        "environment": REGION,
        "location": REGION,
        "time": wire_time(now),
        "componentName": "run-history",
    }


def studio_url(name: str) -> str:
    """The Studio link of a job (azureml-jobs.md §2.6)."""
    wsid = f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/workspaces/{WORKSPACE}"
    return f"https://ml.azure.com/runs/{name}?wsid={wsid}&tid={TENANT}"


def _service(kind: str, endpoint: str) -> dict[str, Any]:
    return {
        "jobServiceType": kind,
        "endpoint": endpoint,
        "port": None,
        "status": None,
        "errorMessage": None,
        "properties": None,
        "nodes": None,
    }


def services(name: str) -> dict[str, Any]:
    """`properties.services` of a cloud job: Studio and Tracking (azureml-jobs.md §2.6)."""
    tracking = f"azureml://{REGION}.api.azureml.ms/mlflow/v1.0{WORKSPACE_ID}?"
    return {"Studio": _service("Studio", studio_url(name)), "Tracking": _service("Tracking", tracking)}


def output_uri(job_name: str, output: str, kind: str) -> str:
    """Where a completed job's output lands: its default datastore folder (azureml-jobs.md §2.4)."""
    folder = f"{DATASTORE_ROOT}/{job_name}/{output}/"
    return f"{folder}{output}.json" if kind == "uri_file" else folder


def job_resource(job: Job, now: datetime) -> dict[str, Any]:
    """The JobBaseResource GET returns at `now` (azureml-jobs.md §2, §2.8).

    Never carries startTime, endTime or error: ARM has none (§2.7). Outputs without a `uri` get one
    once the job is Completed (whether MFE does this is [UNCONFIRMED] in §2.4; it is the only place
    an output "value" can live on the wire).
    """
    status = job.status(now)
    properties = copy.deepcopy(job.properties)
    properties["status"] = status
    properties["services"] = services(job.name)
    if status == "Completed":
        for output_name, output in (properties.get("outputs") or {}).items():
            if isinstance(output, dict) and output.get("uri") is None:
                output["uri"] = output_uri(job.name, output_name, output.get("jobOutputType", ""))
    system: dict[str, Any] = {
        "createdAt": wire_time(job.created_at),
        "createdBy": job.created_by,
        "createdByType": "User",
    }
    if job.modified_at is not None:
        system.update(
            lastModifiedAt=wire_time(job.modified_at),
            lastModifiedBy=job.created_by,
            lastModifiedByType="User",
        )
    return {
        "id": f"{WORKSPACE_ID}/jobs/{job.name}",
        "name": job.name,
        "type": JOB_RESOURCE_TYPE,
        "properties": properties,
        "systemData": system,
    }


def run_details(job: Job, now: datetime) -> dict[str, Any]:
    """RunHistory `runs/{id}/details`: status, created/start/end times, error (azureml-jobs.md §2.7)."""
    started, ended, message = job.started_at(now), job.ended_at(now), job.error(now)
    error = None
    if message is not None and ended is not None:
        error = history_error_body("UserError", message, ended)
    props = job.properties
    return {
        "runId": job.name,
        "runUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{WORKSPACE_ID}/runs/{job.name}")),
        "parentRunId": None,
        "displayName": props.get("displayName"),
        "experimentName": props.get("experimentName"),
        "status": job.status(now),
        "target": "cpu-cluster",
        "createdTimeUtc": wire_time(job.created_at),
        "startTimeUtc": None if started is None else wire_time(started),
        "endTimeUtc": None if ended is None else wire_time(ended),
        "error": error,
        "warnings": None,
        "tags": dict(props.get("tags") or {}),
        "properties": dict(props.get("properties") or {}),
        "logFiles": {},
    }
