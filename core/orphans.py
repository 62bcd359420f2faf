"""Orphans: remote jobs whose run stopped watching them without ending them.

A run's orchestration cancels its remote job on every path it controls (cancel event, timeout, unknown
status). Three paths are outside it:
- an operator terminating the instance on the task hub, and the orchestration itself failing inside
  runbridge (a bug): the Durable instance ends while the last run record it published still shows a
  live remote job, which would then run (and bill) unwatched (peers.md §5.2);
- a submit that may have reached the platform but never got an answer (the create went through, its answer
  was lost, and every later attempt failed too): the run ended Failed (SubmitFailed, or InternalError) with
  no remoteRunId, or was stopped on the task hub, while a job may exist. Its record names what finds that
  job (`remoteName`, set before the first submit call); the orphan is then one to look for (`remote_run_id`
  None), with the platform client's `find`.
The orphan sweeper (maintenance/orphan_sweeper.py) cancels them; this module picks them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.payloads import decode_json_text
from core.protocol import STOPPED_RUNTIMES, RunInput
from core.status import TERMINAL, ErrorCode, RunStatus

__all__ = ["STOPPED_RUNTIMES", "UNANSWERED_SUBMIT_CODES", "Orphan", "orphan_of", "unanswered_submit"]

# How a run that ended on its own says its submit may have made a job it never heard of.
UNANSWERED_SUBMIT_CODES = frozenset({ErrorCode.SUBMIT_FAILED.value, ErrorCode.INTERNAL_ERROR.value})


@dataclass(frozen=True)
class Orphan:
    """A remote job a stopped run may have left running: the run, its request, the remote run id (None: a
    submit that never got an answer; the job, if any, is found by `remote_name`)."""

    run_id: str
    request: dict[str, Any]
    remote_run_id: str | None
    stopped_at: str | None  # the instance's lastUpdatedTime: when it was terminated, failed or ended
    coordinates: dict[str, str] = field(default_factory=dict)  # where the job lives (captured at submit)
    remote_name: str | None = None  # what finds the job (core.run_record.RunRecord.remote_name)
    created_at: str | None = None  # the run's creation (Abacus finds its version by time)

    @property
    def shown_as(self) -> str:
        """How notes and logs name the job: its id, or what would find it."""
        return self.remote_run_id or f"{self.remote_name} (never confirmed)"


def unanswered_submit(record: Mapping[str, Any]) -> bool:
    """Whether a run record that ended on its own may have left a job its submit never heard of."""
    error = record.get("error")
    code = error.get("code") if isinstance(error, Mapping) else None
    return (record.get("status") == RunStatus.FAILED.value and code in UNANSWERED_SUBMIT_CODES
            and not record.get("remoteRunId") and bool(record.get("remoteName")))


def orphan_of(instance: Mapping[str, Any]) -> Orphan | None:
    """The orphan a Durable instance status (management API JSON, with input) leaves, if any.

    One when the instance was terminated or failed while its last published run record (the custom
    status) had submitted a remote job whose status was not terminal, or had named one it was submitting;
    one when the run completed Failed after a submit that never got an answer (`unanswered_submit`);
    None otherwise, chains included (their record names no remote job: a chain's running step is a run of
    its own).
    """
    runtime = instance.get("runtimeStatus")
    if runtime in STOPPED_RUNTIMES:
        record = decode_json_text(instance.get("customStatus"))
        if not isinstance(record, dict) or record.get("status") in {status.value for status in TERMINAL}:
            return None
        if not isinstance(record.get("remoteRunId"), str) and not isinstance(record.get("remoteName"), str):
            return None
    elif runtime == "Completed":
        record = decode_json_text(instance.get("output"))
        if not isinstance(record, dict) or not unanswered_submit(record):
            return None
    else:
        return None
    try:
        request = dict(RunInput.from_dict(instance.get("input")).request)
    except ValueError:
        return None
    coordinates = record.get("remoteLocation") if isinstance(record.get("remoteLocation"), dict) else {}
    remote_run_id = record.get("remoteRunId") if isinstance(record.get("remoteRunId"), str) else None
    return Orphan(str(instance.get("instanceId")), request, remote_run_id, instance.get("lastUpdatedTime"),
                  dict(coordinates), record.get("remoteName"), record.get("createdAt"))
