"""What identifies the remote job a run makes, before any call: pure, so an orchestrator can record it.

Each platform finds a run's job its own way (the client verb `find`): Azure ML by the job name derived
from the run id (reference/azureml-jobs.md §1.3), Foundry by the run-id tag in the metadata of the thread
and run (reference/foundry-agents.md, client 4), Abacus by the pipeline's newest versions whose variables
are this run's, created after the run (reference/abacus-pipelines.md §6 gotcha 2: a version carries no tag).
The name says that in a line an operator can act on; it is recorded on the run (`remoteName`).
"""

from __future__ import annotations

from core.connections import CONNECTION_TYPE_FOR_JOB_TYPE, ConnectionType
from platforms.azure_ml.clone import job_name
from platforms.foundry_agents.wire import RUN_ID_TAG


def remote_name(job_type: str, job: str, run_id: str) -> str | None:
    """The remote job's name (Azure ML) or the key its platform's client finds it by; None for a job type
    this app does not know."""
    kind = CONNECTION_TYPE_FOR_JOB_TYPE.get(job_type)
    if kind is ConnectionType.AZURE_ML:
        return job_name(run_id)
    if kind is ConnectionType.FOUNDRY_AGENTS:
        return f"{RUN_ID_TAG}={run_id}"
    if kind is ConnectionType.ABACUS:
        return f"pipeline {job}: the version with this run's variables created after the run"
    return None
