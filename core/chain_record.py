"""The chain status shape (`GET /api/chains/{id}`): the chain's status and every step's, built and moved on.

The chain orchestrator publishes it as its custom status and returns it as its output; the chain API reads
it back. Step statuses are run statuses, plus NotRun for a step that never started.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.chains import step_run_id
from core.protocol import RunError
from core.status import ErrorCode, RunStatus

NOT_RUN = "NotRun"  # a step the chain never started
STEP_FAILED_INSIDE = RunError.of(ErrorCode.INTERNAL_ERROR, "The step's orchestration failed inside runbridge.")


def new_chain_record(chain_id: str, steps: list[dict[str, Any]], created_at: str) -> dict[str, Any]:
    """The chain status shape: every step listed, NotRun until it starts."""
    return {"id": chain_id, "status": RunStatus.RUNNING.value, "currentStep": None, "createdAt": created_at,
            "endedAt": None,
            "steps": [{"name": s["name"], "runId": step_run_id(chain_id, s["name"]),
                       "jobType": s["request"]["jobType"], "status": NOT_RUN, "outputs": {}, "parameters": [],
                       "error": None} for s in steps]}


def failed_step_run() -> dict[str, Any]:
    """The run a step counts as when its orchestration itself failed (a bug, not the remote job)."""
    return {"status": RunStatus.FAILED.value, "outputs": {}, "parameters": [], "error": STEP_FAILED_INSIDE.to_dict()}


def chain_outcome(run: Mapping[str, Any]) -> str | None:
    """How a chain ends after a step that ended with `run`: None to go on (Success), else its status."""
    status = run.get("status")
    if status == RunStatus.SUCCESS.value:
        return None
    return status if status in (RunStatus.FAILED.value, RunStatus.CANCELLED.value) else RunStatus.FAILED.value
