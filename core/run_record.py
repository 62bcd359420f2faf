"""The run status every job type reports (DESIGN.md "Run status"): a typed value and the moves it may make.

While a run is live its orchestrator publishes this record as the Durable custom status; when it ends, the
record is the orchestration's output. The status contract ("The status contract, pushed") lives in the
transitions, not in conventions at call sites: status only moves forward (Starting → Running → an end;
Unknown only between Running and an end, ranking with Running), `remoteRunId` and `monitorUrl` never go back
to null, `polls` never decreases, an ended record never changes (but for the orphan sweeper's note on a run
stopped on the task hub: `swept`). `run_from_instance` turns a Durable
instance status into the record and never rebuilds one older than the record the run carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.payloads import decode_json_text
from core.poll_policy import PollState
from core.protocol import LIVE_RUNTIMES, Polled, RunError, RunInput, Submitted
from core.status import ErrorCode, RunStatus, is_terminal

# The Durable runtime statuses an instance can have while its run record shows each run status (see
# run_from_instance), so a list filtered by run status can ask the task hub for those instances only.
RUNTIMES_FOR_STATUS: dict[RunStatus, tuple[str, ...]] = {
    RunStatus.STARTING: LIVE_RUNTIMES,
    RunStatus.RUNNING: LIVE_RUNTIMES,
    RunStatus.UNKNOWN: LIVE_RUNTIMES,
    RunStatus.SUCCESS: ("Completed",),
    RunStatus.FAILED: ("Completed", "Failed"),
    RunStatus.CANCELLED: ("Completed", "Terminated"),
}
# Starting, then Running (or Unknown: a running job the platform describes in words we cannot map), then an end
RANK = {RunStatus.STARTING: 0, RunStatus.RUNNING: 1, RunStatus.UNKNOWN: 1,
        RunStatus.SUCCESS: 2, RunStatus.FAILED: 2, RunStatus.CANCELLED: 2}

INTERNAL_FAILURE = RunError.of(ErrorCode.INTERNAL_ERROR,
                               "The run's orchestration failed inside runbridge; the host log has the details.")
TERMINATED = RunError.of(ErrorCode.TERMINATED, "The run was terminated on the Durable task hub.")
_KNOWN = ("id", "jobType", "connection", "job", "status", "remoteStatus", "remoteRunId", "monitorUrl", "outputs",
          "parameters", "error", "createdAt", "startedAt", "endedAt", "polls", "remoteLocation", "note",
          "remoteName")


@dataclass(frozen=True)
class RunRecord:
    """A run as `GET /api/runs/{id}` shows it. Build with `new`, move with the transitions, publish `to_dict`."""

    id: str | None
    job_type: str | None
    connection: str | None
    job: str | None
    created_at: str | None
    status: RunStatus = RunStatus.STARTING
    remote_status: str | None = None
    remote_run_id: str | None = None
    monitor_url: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    parameters: tuple[Mapping[str, Any], ...] = ()
    error: RunError | None = None
    started_at: str | None = None
    ended_at: str | None = None
    polls: int = 0
    # where the remote job lives: the connection's non-secret coordinates captured at submit (activities use
    # them, not today's settings, so a run stays bound to its job; credentials are never in them)
    remote_location: Mapping[str, str] = field(default_factory=dict)
    note: str | None = None  # what happened to the remote job after the run stopped (the orphan sweeper)
    # what identifies the remote job this run makes, set before the first submit call (an Azure ML job name,
    # the tag of a Foundry run, what finds an Abacus version): a submit that may have reached the platform
    # but never answered still leaves a job that an operator, and the orphan sweeper, can find
    remote_name: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # fields this version does not know, kept as they are

    @classmethod
    def new(cls, request: Mapping[str, Any], created_at: str | None) -> RunRecord:
        """The record of a run just accepted: Starting, nothing remote yet."""
        return cls(request.get("runId"), request.get("jobType"), request.get("connection"), request.get("job"),
                   created_at, parameters=tuple(request.get("parameters") or ()))

    @property
    def ended(self) -> bool:
        return is_terminal(self.status)

    # ---- transitions -------------------------------------------------------------------------------
    def submitting(self, remote_name: str) -> RunRecord:
        """The run is about to ask the platform for its job: what will find that job (set once)."""
        if self.ended or self.remote_name:
            return self
        return replace(self, remote_name=remote_name)

    def submitted(self, submitted: Submitted) -> RunRecord:
        """The remote job exists: its id, link and first status (a set id is never replaced)."""
        if self.ended:
            return self
        return replace(self, remote_run_id=self.remote_run_id or submitted.remote_run_id,
                       monitor_url=self.monitor_url or submitted.monitor_url, remote_status=submitted.remote_status,
                       outputs={**self.outputs, **submitted.outputs},
                       remote_location=self.remote_location or submitted.coordinates)

    def polled(self, state: PollState, seen: Polled | None) -> RunRecord:
        """A poll's outcome on a live run (`seen`: what the platform answered, None when the poll failed):
        the status moves forward only (an end is published by `end`), polls never decrease."""
        if self.ended:
            return self
        status = state.status
        shown = self.status if is_terminal(status) or RANK[status] < RANK[self.status] else status
        if shown is RunStatus.UNKNOWN and self.status is RunStatus.STARTING:
            shown = RunStatus.STARTING  # Unknown only between Running and an end: a job never seen running starts
        record = replace(self, status=shown, polls=max(self.polls, state.polls),
                         started_at=(seen.started_at if seen else None) or self.started_at or state.started_at)
        if seen is None:
            return record
        said = seen.error if seen.error and seen.error.message else None  # a bare code only steers the loop
        error = RunError(said.code or ErrorCode.REMOTE_FAILED.value, said.message) if said else None
        return replace(record, remote_status=seen.remote_status, error=error or record.error,
                       ended_at=seen.ended_at or record.ended_at)

    def with_error(self, error: RunError | None) -> RunRecord:
        """A live run's current trouble (a connection gone missing), or None once it passed."""
        return self if self.ended else replace(self, error=error)

    def with_outputs(self, outputs: Mapping[str, Any], parameters: list[Mapping[str, Any]]) -> RunRecord:
        """The outputs read at the end and the parameters they were written back to."""
        if self.ended:
            return self
        return replace(self, outputs={**self.outputs, **outputs}, parameters=tuple(parameters))

    def end(self, status: RunStatus, error: RunError | None, now: str) -> RunRecord:
        """The run is over; from here the record never changes."""
        if self.ended:
            return self
        return replace(self, status=status, error=error, ended_at=self.ended_at or now)

    # ---- data ----------------------------------------------------------------------------------------
    def swept(self, remote_status: str | None, note: str) -> RunRecord:
        """What the orphan sweeper did to the remote job of a run that stopped on the task hub (the one
        addition an ended record takes: its status, error and times stay)."""
        return replace(self, remote_status=remote_status or self.remote_status, note=note)

    def to_dict(self) -> dict[str, Any]:
        optional = {"remoteLocation": dict(self.remote_location)} if self.remote_location else {}
        if self.note:
            optional["note"] = self.note
        if self.remote_name:
            optional["remoteName"] = self.remote_name
        return {**self.extra, **optional, "id": self.id, "jobType": self.job_type, "connection": self.connection,
                "job": self.job,
                "status": self.status.value, "remoteStatus": self.remote_status, "remoteRunId": self.remote_run_id,
                "monitorUrl": self.monitor_url, "outputs": dict(self.outputs),
                "parameters": [dict(p) for p in self.parameters],
                "error": None if self.error is None else self.error.to_dict(), "createdAt": self.created_at,
                "startedAt": self.started_at, "endedAt": self.ended_at, "polls": self.polls}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Read any version's record back (the custom status, an output, a continued execution's input)."""
        return cls(data.get("id"), data.get("jobType"), data.get("connection"), data.get("job"),
                   data.get("createdAt"), RunStatus(data.get("status") or RunStatus.STARTING.value),
                   data.get("remoteStatus"), data.get("remoteRunId"), data.get("monitorUrl"),
                   dict(data.get("outputs") or {}), tuple(data.get("parameters") or ()),
                   RunError.from_value(data.get("error")), data.get("startedAt"), data.get("endedAt"),
                   int(data.get("polls") or 0), dict(data.get("remoteLocation") or {}), data.get("note"),
                   data.get("remoteName"), {k: v for k, v in data.items() if k not in _KNOWN})

    def newer_than(self, other: RunRecord) -> bool:
        """Whether this record is further along than `other` (status rank first, then polls)."""
        return (RANK[self.status], self.polls) > (RANK[other.status], other.polls)


def new_run_record(request: Mapping[str, Any], created_at: str) -> dict[str, Any]:
    """The record of a run that has just been accepted (status Starting, nothing remote yet), as data."""
    return RunRecord.new(request, created_at).to_dict()


def run_from_instance(instance: Mapping[str, Any]) -> dict[str, Any]:
    """The run record for a Durable instance status (the management API's JSON shape)."""
    runtime = instance.get("runtimeStatus")
    output = decode_json_text(instance.get("output"))
    if runtime == "Completed" and isinstance(output, dict) and "status" in output:
        return dict(output)
    record = _carried(instance)
    # A record ends in the same episode that completes its instance, so a stopped instance's last record was
    # live: the stop is its end, at the instance's last update.
    stopped = {"Failed": (RunStatus.FAILED, INTERNAL_FAILURE), "Terminated": (RunStatus.CANCELLED, TERMINATED)}
    if runtime in stopped:
        status, error = stopped[runtime]
        record = replace(record, status=status, error=error, ended_at=_iso(instance.get("lastUpdatedTime")))
    return record.to_dict()


def _carried(instance: Mapping[str, Any]) -> RunRecord:
    """The newest record the instance holds: its custom status, or the record its execution was continued
    with (a new execution may not have published yet), or a new one from its request."""
    try:
        started: RunInput | None = RunInput.from_dict(instance.get("input"))
    except ValueError:
        started = None
    candidates = [decode_json_text(instance.get("customStatus")), started.run if started else None]
    records = [RunRecord.from_dict(c) for c in candidates if isinstance(c, Mapping) and "status" in c]
    if records:
        return max(records, key=lambda r: (RANK[r.status], r.polls))
    request = dict(started.request) if started else {}
    return RunRecord.new({**request, "runId": instance.get("instanceId")}, _iso(instance.get("createdTime")))


def _iso(stamp: Any) -> str | None:
    return stamp if isinstance(stamp, str) else None
