"""The shape every platform client has (same verbs everywhere) and the plain results they return.

A client talks to one platform for one connection. It has no loops over time, no sleeps, no Durable
imports and no settings reads: the connection is handed in, the waiting is the orchestrator's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.run_request import RunRequest
from core.status import ErrorCode, RunStatus


@dataclass(frozen=True)
class Submitted:
    """What a submit made: the remote run's id and where a person can watch it."""

    remote_run_id: str
    monitor_url: str | None = None
    remote_status: str | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)  # outputs known at submit (an agent's thread id)


@dataclass(frozen=True)
class RemoteState:
    """One look at a remote run: its mapped status, the platform's own word, times and error."""

    status: RunStatus
    remote_status: str | None
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None
    error_code: ErrorCode | None = None  # on an active status: cancel with this code (see core.poll_policy)
    confirmed: bool = True  # False: one answer that may be stray (a 404), believed only once it holds

    @classmethod
    def vanished(cls, what: str) -> RemoteState:
        """The remote run is not found (404 on the platform): the run ends Failed with code NotFound once
        that answer holds (core.poll_policy confirm_budget); one 404 during a deployment is not the end."""
        return cls(RunStatus.FAILED, None, error=f"{what} not found.", error_code=ErrorCode.NOT_FOUND,
                   confirmed=False)


@dataclass(frozen=True)
class JobParameter:
    """A parameter a job declares, for import into a scheduler."""

    name: str
    direction: str
    type: str = "string"
    required: bool = False
    default: str | None = None
    choices: tuple[str, ...] | None = None  # the only values it takes, when it is a choice (a form shows a list)

    def to_dict(self) -> dict[str, Any]:
        data = {"name": self.name, "direction": self.direction, "type": self.type, "required": self.required,
                "default": self.default}
        return data if self.choices is None else {**data, "choices": list(self.choices)}


@dataclass(frozen=True)
class JobInfo:
    """A runnable job: a template pipeline job, an agent, a pipeline."""

    job: str
    display_name: str | None = None
    description: str | None = None
    parameters: list[JobParameter] = field(default_factory=list)
    monitor_url: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)  # platform facts worth showing (an agent's model)

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job, "displayName": self.display_name, "description": self.description,
                "parameters": [p.to_dict() for p in self.parameters], "monitorUrl": self.monitor_url,
                "properties": dict(self.properties)}


@dataclass(frozen=True)
class JobsPage:
    """One page of a platform's jobs, the cursor of the next one, and the platform calls it cost (cache
    hits left out), so discovery can bound one request's calls."""

    jobs: list[JobInfo]
    next_page: str | None = None
    calls: int = 1


class PlatformClient(Protocol):
    """The verbs every platform client offers (STYLE.md "One client shape")."""

    def check_request(self, request: RunRequest) -> None:
        """Raise core.errors.ValidationError if the platform cannot run this request (unknown job, input)."""
        ...

    def preview(self, request: RunRequest, run_id: str) -> dict[str, Any]:
        """The remote call `submit` would send for a new run, `{"method", "url", "body"}`, without sending it.

        Built by the same code as the submit; no credential is in it (HttpClient.describe).
        """
        ...

    def probe(self) -> None:
        """One cheap authenticated read, so a connection test sees auth and reachability (PlatformError)."""
        ...

    def describe(self, job: str) -> JobInfo | None:
        """One job as `list_jobs` lists it (its parameters and their types), or None when there is no such job."""
        ...

    def submit(self, request: RunRequest, run_id: str) -> Submitted:
        """Start the remote job for `run_id`, or find the one this run already started."""
        ...

    def find(self, request: RunRequest, run_id: str) -> Submitted | None:
        """The remote job `run_id` made, looked for by what platforms/remote_names.py names (reads only),
        or None when the platform has none: how a submit reconciles, and how the orphan sweeper finds the
        job of a run whose submit never got an answer."""
        ...

    def get_state(self, remote_run_id: str) -> RemoteState:
        ...

    def cancel(self, remote_run_id: str) -> None:
        """Ask the platform to stop the run; the caller polls until it confirms."""
        ...

    def outputs(self, remote_run_id: str, request: RunRequest) -> Mapping[str, str]:
        """The run's outputs by parameter name (only those the platform produced)."""
        ...

    def list_jobs(self, page_token: str | None = None) -> JobsPage:
        ...

    def monitor_url(self, remote_run_id: str) -> str | None:
        ...
