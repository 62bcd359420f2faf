"""The run status every job type reports (DESIGN.md "Run status"), built and read back.

While a run is live its orchestrator publishes this record as the Durable custom status; when it ends,
the record is the orchestration's output. `run_from_instance` turns a Durable instance status into the
record, so the API shows one shape whatever state the orchestration is in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.payloads import decode_json_text
from core.status import RunStatus

_LIVE_RUNTIMES = ("Pending", "Running", "ContinuedAsNew", "Suspended")
# The Durable runtime statuses an instance can have while its run record shows each run status (see
# run_from_instance), so a list filtered by run status can ask the task hub for those instances only.
RUNTIMES_FOR_STATUS: dict[RunStatus, tuple[str, ...]] = {
    RunStatus.STARTING: _LIVE_RUNTIMES,
    RunStatus.RUNNING: _LIVE_RUNTIMES,
    RunStatus.UNKNOWN: _LIVE_RUNTIMES,
    RunStatus.SUCCESS: ("Completed",),
    RunStatus.FAILED: ("Completed", "Failed"),
    RunStatus.CANCELLED: ("Completed", "Terminated"),
}

INTERNAL_FAILURE = {"code": "InternalError",
                    "message": "The run's orchestration failed inside runbridge; the host log has the details."}


def new_run_record(request: Mapping[str, Any], created_at: str) -> dict[str, Any]:
    """The record of a run that has just been accepted (status Starting, nothing remote yet)."""
    return {
        "id": request.get("runId"),
        "jobType": request.get("jobType"),
        "connection": request.get("connection"),
        "job": request.get("job"),
        "status": RunStatus.STARTING.value,
        "remoteStatus": None,
        "remoteRunId": None,
        "monitorUrl": None,
        "outputs": {},
        "parameters": list(request.get("parameters") or []),
        "error": None,
        "createdAt": created_at,
        "startedAt": None,
        "endedAt": None,
        "polls": 0,
        "steps": None,  # core.run_steps: read at status changes and at the end
        "usage": None,  # tokens used, where the platform reports them (agent runs, once ended)
    }


def run_from_instance(instance: Mapping[str, Any]) -> dict[str, Any]:
    """The run record for a Durable instance status (the management API's JSON shape)."""
    runtime = instance.get("runtimeStatus")
    created = _iso(instance.get("createdTime"))
    updated = _iso(instance.get("lastUpdatedTime"))
    output, custom = instance.get("output"), instance.get("customStatus")
    if runtime == "Completed" and isinstance(output, dict) and "status" in output:
        return dict(output)
    record = dict(custom) if isinstance(custom, dict) and "status" in custom else None
    if record is None:
        request = _request_of(instance.get("input"))
        record = new_run_record({**request, "runId": instance.get("instanceId")}, created)
    if runtime == "Failed":
        record.update(status=RunStatus.FAILED.value, error=dict(INTERNAL_FAILURE), endedAt=updated)
    elif runtime == "Terminated":
        record.update(status=RunStatus.CANCELLED.value, endedAt=updated,
                      error={"code": "Terminated", "message": "The run was terminated on the Durable task hub."})
    return record


def _request_of(raw: Any) -> dict[str, Any]:
    raw = decode_json_text(raw)  # inputs started through the SDK client arrive as JSON text (§1.7)
    if isinstance(raw, dict):
        request = raw.get("request", raw)
        return request if isinstance(request, dict) else {}
    return {}


def _iso(stamp: Any) -> str | None:
    return stamp if isinstance(stamp, str) else None
