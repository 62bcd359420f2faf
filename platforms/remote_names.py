"""What identifies the remote job a run makes, before any call: pure, so an orchestrator can record it.

Each platform finds a run's job its own way (its client's `find`) and names what it looks for with its
client module's `remote_name(job, run_id)`: Azure ML the job name derived from the run id, Foundry the
run-id tag on the thread and run, Abacus the pipeline version with the run's variables created after the
run. The name is recorded on the run (`remoteName`) so an operator, and the orphan sweeper, can find it.
"""

from __future__ import annotations

import importlib

from core.connections import CONNECTION_TYPE_FOR_JOB_TYPE
from platforms.registry import client_module


def remote_name(job_type: str, job: str, run_id: str) -> str | None:
    """What finds the job `run_id` makes of `job` (no I/O); None for a job type this app does not know."""
    kind = CONNECTION_TYPE_FOR_JOB_TYPE.get(job_type)
    if kind is None:
        return None
    return importlib.import_module(client_module(kind)).remote_name(job, run_id)
