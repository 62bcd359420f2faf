"""Orphans: remote jobs whose run stopped watching them without ending them.

A run's orchestration cancels its remote job on every path it controls (cancel event, timeout, unknown
status). Two paths are outside it: an operator terminating the instance on the task hub, and the
orchestration itself failing inside runbridge (a bug). Either way the Durable instance ends while the
last run record it published still shows a live remote job, which would then run (and bill) unwatched.
peers.md §5.2 asks that these paths cancel too; the orphan sweeper (maintenance/orphan_sweeper.py) does so
for the instances this module picks out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.payloads import decode_json_text
from core.protocol import STOPPED_RUNTIMES, RunInput
from core.status import TERMINAL

__all__ = ["STOPPED_RUNTIMES", "Orphan", "orphan_of"]


@dataclass(frozen=True)
class Orphan:
    """A remote job a stopped run may have left running: the run, its request, the remote run id."""

    run_id: str
    request: dict[str, Any]
    remote_run_id: str
    stopped_at: str | None  # the instance's lastUpdatedTime: when it was terminated or failed
    coordinates: dict[str, str] = field(default_factory=dict)  # where the job lives (captured at submit)


def orphan_of(instance: Mapping[str, Any]) -> Orphan | None:
    """The orphan a Durable instance status (management API JSON, with input) leaves, if any.

    One when the instance was terminated or failed while its last published run record (the custom
    status) had submitted a remote job whose status was not terminal; None otherwise, chains included
    (their record names no remote job: a chain's running step is a run of its own).
    """
    if instance.get("runtimeStatus") not in STOPPED_RUNTIMES:
        return None
    record = decode_json_text(instance.get("customStatus"))
    if not isinstance(record, dict) or not isinstance(record.get("remoteRunId"), str):
        return None
    if record.get("status") in {status.value for status in TERMINAL}:
        return None
    try:
        request = dict(RunInput.from_dict(instance.get("input")).request)
    except ValueError:
        return None
    coordinates = record.get("remoteLocation") if isinstance(record.get("remoteLocation"), dict) else {}
    return Orphan(str(instance.get("instanceId")), request, record["remoteRunId"], instance.get("lastUpdatedTime"),
                  dict(coordinates))
