"""Azure ML's run status events, as the workspace's Event Grid system topic delivers them: which run of
runbridge an event is about, if any.

An event is `Microsoft.MachineLearningServices.RunStatusChanged` (data.runStatus set) or `...RunCompleted`,
its `topic` the workspace's ARM id, `data.runId` the job's name. runbridge names its jobs
`runbridge-<run id>` (clone.py), so the run id follows from the event alone; whether the run exists and
lives on that workspace is for the caller to check. Everything else is not ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.connections import Connection

from .clone import JOB_NAME_PREFIX

STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
RUN_COMPLETED = "Microsoft.MachineLearningServices.RunCompleted"
EVENT_TYPES = frozenset({STATUS_CHANGED, RUN_COMPLETED})
MAX_RUN_ID = 200  # longer than any job name Azure ML accepts: not ours


@dataclass(frozen=True)
class RunEvent:
    """An event about a job runbridge may have made: its run id, the topic it came from, the status it says."""

    run_id: str
    topic: str
    remote_status: str | None


def workspace_id(connection: Connection) -> str:
    """The ARM id of the connection's workspace: the `topic` of its system topic's events."""
    settings = connection.settings
    return (f"/subscriptions/{settings['subscriptionId']}/resourceGroups/{settings['resourceGroup']}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{settings['workspace']}")


def same_workspace(topic: str, connection: Connection) -> bool:
    """Whether `topic` is the connection's workspace (ARM ids compare ignoring case)."""
    return topic.casefold() == workspace_id(connection).casefold()


def run_event_of(event_type: str | None, topic: str | None, data: Any) -> RunEvent | str:
    """The run an event is about, or the reason it is none of runbridge's (a short word for the log)."""
    if event_type not in EVENT_TYPES:
        return "event type"
    if not isinstance(data, Mapping) or not isinstance(topic, str):
        return "malformed"
    job = data.get("runId")
    if not isinstance(job, str) or not job.startswith(JOB_NAME_PREFIX) or len(job) > MAX_RUN_ID:
        return "not a runbridge job"
    status = data.get("runStatus")
    return RunEvent(job[len(JOB_NAME_PREFIX):], topic, status if isinstance(status, str) else None)
