"""The chain orchestrator: run each step as a sub-orchestration of its job type, feeding outputs forward.

It stops at the first step that does not succeed (later steps stay NotRun) and, on the cancel event,
stops starting steps; the cancel API also cancels the running step's own run, whose result is waited for
so the chain reports how that step really ended.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from core.chain_record import chain_outcome, failed_step_run, new_chain_record
from core.chains import resolve
from core.job_types import job_type
from core.payloads import decode_json_text
from core.protocol import CANCEL_EVENT, CHAIN_ORCHESTRATOR
from core.status import RunStatus

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context", orchestration=CHAIN_ORCHESTRATOR)
def run_chain(context: df.DurableOrchestrationContext):
    """Run the steps in order; return the chain record."""
    steps = decode_json_text(context.get_input())["chain"]["steps"]  # SDK-client inputs are JSON text (§1.7)
    record = new_chain_record(context.instance_id, steps, context.current_utc_datetime.isoformat())
    context.set_custom_status(record)
    cancel = context.wait_for_external_event(CANCEL_EVENT)
    finished: dict[str, dict[str, Any]] = {}
    outcome: str | None = None
    for index, step in enumerate(steps):
        if cancel.is_completed:
            outcome = RunStatus.CANCELLED.value
            break
        run = yield from _run_step(context, record, record["steps"][index], {**resolve(step, finished)}, cancel)
        finished[step["name"]] = run
        outcome = chain_outcome(run)
        if outcome is not None:
            break
    record.update(status=outcome or RunStatus.SUCCESS.value, currentStep=None,
                  endedAt=context.current_utc_datetime.isoformat())
    context.set_custom_status(record)
    return record


def _run_step(context: df.DurableOrchestrationContext, record: dict[str, Any], entry: dict[str, Any],
              request: dict[str, Any], cancel: Any) -> Generator[Any, Any, dict[str, Any]]:
    """Run one step as its job type's orchestration; the step's final run record (also written to `entry`)."""
    request = {**request, "runId": entry["runId"]}
    child = context.call_sub_orchestrator(job_type(request["jobType"]).orchestrator, {"request": request},
                                          entry["runId"])
    entry["status"] = RunStatus.RUNNING.value
    record["currentStep"] = entry["name"]
    context.set_custom_status(record)
    winner = yield context.task_any([child, cancel])
    try:
        run = child.result if winner == child else (yield child)
    except Exception:  # the step's orchestration itself failed
        run = failed_step_run()
    entry.update(status=run["status"], outputs=run.get("outputs") or {}, error=run.get("error"),
                 parameters=run.get("parameters") or [])
    return run
