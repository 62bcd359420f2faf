"""The chain orchestrator: run each step as a sub-orchestration of its job type, feeding outputs forward.

It stops at the first step that does not succeed (later steps stay NotRun) and, on the cancel event,
stops starting steps; the cancel API also cancels the running step's own run, whose result is waited for
so the chain reports how that step really ended. Its start and its end go out as
`runbridge.chain.statusChanged` events with its steps' states (orchestrators/notify.py); each step's own run
sends its run events.
"""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df

from core.chains import resolve, step_run_id
from core.cloud_events import chain_changes, new_notice
from core.job_types import registered_job_types
from orchestrators.notify import announce

CHAIN_ORCHESTRATOR = "run_chain"
CANCEL_EVENT = "cancel"
bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context", orchestration=CHAIN_ORCHESTRATOR)
def run_chain(context: df.DurableOrchestrationContext):
    """Run the steps in order; return the chain record."""
    data = context.get_input()
    if isinstance(data, str):  # inputs sent through the SDK client arrive as JSON text
        data = json.loads(data)
    steps = data["chain"]["steps"]
    record = new_chain_record(context.instance_id, steps, context.current_utc_datetime.isoformat())
    context.set_custom_status(record)
    notice = new_notice()  # a chain never continues as new: its notice lives in this execution
    yield from announce(context, record["id"], [], notice, chain_changes(notice, record, _now(context)))
    cancel = context.wait_for_external_event(CANCEL_EVENT)
    finished: dict[str, dict[str, Any]] = {}
    outcome = "Success"
    for index, step in enumerate(steps):
        if cancel.is_completed:
            outcome = "Cancelled"
            break
        entry = record["steps"][index]
        request = {**resolve(step, finished), "runId": entry["runId"]}
        orchestrator = registered_job_types()[request["jobType"]].orchestrator
        child = context.call_sub_orchestrator(orchestrator, {"request": request}, entry["runId"])
        entry["status"] = "Running"
        record["currentStep"] = entry["name"]
        context.set_custom_status(record)
        winner = yield context.task_any([child, cancel])
        try:
            run = child.result if winner == child else (yield child)
        except Exception:  # the step's orchestration itself failed
            run = {"status": "Failed", "outputs": {}, "parameters": [],
                   "error": {"code": "InternalError", "message": "The step's orchestration failed inside runbridge."}}
        finished[step["name"]] = run
        entry.update(status=run["status"], outputs=run.get("outputs") or {}, error=run.get("error"),
                     parameters=run.get("parameters") or [])
        if run["status"] != "Success":
            outcome = run["status"] if run["status"] in ("Failed", "Cancelled") else "Failed"
            break
    record.update(status=outcome, currentStep=None, endedAt=context.current_utc_datetime.isoformat())
    context.set_custom_status(record)
    yield from announce(context, record["id"], [], notice, chain_changes(notice, record, _now(context)), final=True)
    return record


def _now(context: df.DurableOrchestrationContext) -> str:
    return context.current_utc_datetime.isoformat()


def new_chain_record(chain_id: str, steps: list[dict[str, Any]], created_at: str) -> dict[str, Any]:
    """The chain status shape: every step listed, NotRun until it starts."""
    return {"id": chain_id, "status": "Running", "currentStep": None, "createdAt": created_at, "endedAt": None,
            "steps": [{"name": s["name"], "runId": step_run_id(chain_id, s["name"]),
                       "jobType": s["request"]["jobType"], "status": "NotRun", "outputs": {}, "parameters": [],
                       "error": None} for s in steps]}
