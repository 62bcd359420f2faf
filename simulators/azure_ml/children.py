"""A pipeline job's child jobs (its steps) as RunHistory runs, each with its own lifecycle.

azureml-jobs.md §1.1: the SDK lists a pipeline's children through RunHistory `get_child`
(`GET /history/v1.0/.../runs/{runId}/children`, a PaginatedRunList `{value, continuationToken, nextLink}`
of Run objects), not through Jobs_List; §2.7: RunHistory carries the times and the error text ARM has not.

Rules where the reference is silent ([invented], chosen to be simple and deterministic):
- the steps are the keys of the pipeline's `jobs` map, run one after the other in that order, sharing the
  parent's Running phase equally; a child run exists only once its step has started (the service creates
  step runs as it schedules them);
- a job whose behaviour names a failing step runs the steps up to that one, which fails at the end of the
  parent's Running phase with the behaviour's step error; the steps after it never start;
- a cancel moves the child running at that moment to CancelRequested, then Canceled with the parent; steps
  not yet started never start.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from simulators.azure_ml.catalog import WORKSPACE_ID
from simulators.azure_ml.jobs import Job
from simulators.azure_ml.wire import history_error_body, wire_time


@dataclass(frozen=True)
class ChildRun:
    """One step's run at a moment: its status and times (None: not reached yet) and error text."""

    run_id: str
    step: str
    display_name: str
    started: datetime
    ended: datetime | None
    status: str
    error: str | None


def child_run_id(parent: str, step: str) -> str:
    """A child run's id: a GUID, as the service gives step runs; stable per parent and step."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{WORKSPACE_ID}/runs/{parent}/steps/{step}"))


def child_runs(job: Job, now: datetime) -> list[ChildRun]:
    """The child runs of `job` that exist at `now`, oldest first (module rules)."""
    jobs = job.properties.get("jobs") or {}
    names = [name for name in jobs if isinstance(name, str)]
    timeline = job.behaviour.timeline
    start = timeline.entered_at("Running", job.created_at)
    if not names or start is None:
        return []
    failing = job.behaviour.failing_step if job.behaviour.failing_step in names else None
    ran = names[: names.index(failing) + 1] if failing else names
    running = dict(timeline.phases).get("Running", 0.0)
    slot = timedelta(seconds=running / len(ran))
    stop, stopped = job.cancel_requested_at, job.canceled_at
    children = []
    for index, name in enumerate(ran):
        begin = start + slot * index
        if begin > now or (stop is not None and begin >= stop):
            break
        end = begin + slot
        step = jobs[name] if isinstance(jobs[name], dict) else {}
        display = str(step.get("display_name") or step.get("name") or name)
        error = None
        if stop is not None and stop < end:
            done = stopped is not None and now >= stopped
            status, ended = ("Canceled", stopped) if done else ("CancelRequested", None)
        elif now >= end:
            status, ended = ("Failed", end) if name == failing else ("Completed", end)
            error = job.behaviour.step_error if name == failing else None
        else:
            status, ended = "Running", None
        children.append(ChildRun(child_run_id(job.name, name), name, display, begin, ended, status, error))
    return children


def child_run_resource(child: ChildRun, parent: Job) -> dict[str, Any]:
    """The RunHistory Run of a child (azureml-jobs.md §2.7 field names: runId, status, startTimeUtc,
    endTimeUtc, error = ErrorResponse), as a page of `runs/{id}/children` lists it."""
    error = None
    if child.error is not None and child.ended is not None:
        error = history_error_body("UserError", child.error, child.ended)
    return {
        "runId": child.run_id,
        "runUuid": child.run_id,
        "parentRunId": parent.name,
        "rootRunId": parent.name,
        "experimentId": str(uuid.uuid5(uuid.NAMESPACE_URL, str(parent.properties.get("experimentName")))),
        "name": child.step,
        "displayName": child.display_name,
        "status": child.status,
        "createdUtc": wire_time(child.started),
        "startTimeUtc": wire_time(child.started),
        "endTimeUtc": None if child.ended is None else wire_time(child.ended),
        "error": error,
        "hidden": False,
        "target": "cpu-cluster",
        "tags": {},
        "properties": {"azureml.nodeid": child.step},  # [invented] which node of the graph it runs
    }
