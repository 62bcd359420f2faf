"""The job types this app runs; each registers itself when its orchestrator module is imported.

The starters accept a request only for a registered job type, so a job type that is known in principle
(core.connections.JOB_TYPES) but not yet built is refused with a 400, not started and left to fail.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.connections import CONNECTION_TYPE_FOR_JOB_TYPE, ConnectionType


@dataclass(frozen=True)
class JobType:
    """A runnable job type: its name, the orchestrator that runs it, the platform it needs."""

    name: str
    orchestrator: str

    @property
    def connection_type(self) -> ConnectionType:
        return CONNECTION_TYPE_FOR_JOB_TYPE[self.name]


_REGISTERED: dict[str, JobType] = {}


def register_job_type(name: str, orchestrator: str) -> JobType:
    """Register a job type (idempotent); its name must be one core.connections knows."""
    if name not in CONNECTION_TYPE_FOR_JOB_TYPE:
        raise ValueError(f"unknown job type {name!r}: add it to CONNECTION_TYPE_FOR_JOB_TYPE first")
    job_type = JobType(name, orchestrator)
    _REGISTERED[name] = job_type
    return job_type


def registered_job_types() -> dict[str, JobType]:
    """Every registered job type by name."""
    return dict(_REGISTERED)


def job_type_for_orchestrator(orchestrator: str) -> JobType | None:
    return next((j for j in _REGISTERED.values() if j.orchestrator == orchestrator), None)
