"""The job types this app runs, from the one static table core.connections.CONNECTION_TYPE_FOR_JOB_TYPE.

A job type's orchestrator is the function of the same name in `orchestrators/<job type>.py`, its platform
client `platforms/<connection type>/client.py`: nothing registers itself at import time, so a starter
knows every job type whichever modules were imported first (docs/adding-a-platform.md).
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

    @property
    def orchestrator_module(self) -> str:
        """The module that defines the orchestrator (and its blueprint `bp`)."""
        return f"orchestrators.{self.orchestrator}"


_JOB_TYPES: dict[str, JobType] = {name: JobType(name, name) for name in CONNECTION_TYPE_FOR_JOB_TYPE}


def job_type(name: str) -> JobType:
    """The job type called `name` (KeyError for a name the table does not have)."""
    return _JOB_TYPES[name]


def registered_job_types() -> dict[str, JobType]:
    """Every job type by name."""
    return dict(_JOB_TYPES)


def job_type_for_orchestrator(orchestrator: str) -> JobType | None:
    return next((j for j in _JOB_TYPES.values() if j.orchestrator == orchestrator), None)
