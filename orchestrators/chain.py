"""The chain orchestrator: run each step as a sub-orchestration of its job type, feeding outputs forward.

It stops at the first step that does not succeed (later steps stay NotRun) and, on the cancel event,
stops starting steps; the cancel API also cancels the running step's own run, whose result is waited for
so the chain reports how that step really ended. Its start and its end go out as
`runbridge.chain.statusChanged` events with its steps' states (orchestrators/notify.py); each step's own run
sends its run events.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from core.chain_record import chain_outcome, failed_step_run, new_chain_record
from core.chains import resolve
from core.cloud_events import chain_changes, new_notice
from core.job_types import job_type
from core.payloads import decode_json_text
from core.protocol import CANCEL_EVENT, CHAIN_ORCHESTRATOR, RunInput
from core.status import RunStatus
from orchestrators.notify import announce

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context", orchestration=CHAIN_ORCHESTRATOR)
def run_chain(context: df.DurableOrchestrationContext):
    """Run the steps in order; return the chain record."""
    data = decode_json_text(context.get_input())  # SDK-client inputs are JSON text (§1.7)
    steps = data["chain"]["steps"]
    record = new_chain_record(context.instance_id, steps, context.current_utc_datetime.isoformat())
    context.set_custom_status(record)
    # a chain never continues as new: its notice lives in this execution. A chain started before events
    # existed (no "events" in its input) sends none, so its recorded history replays unchanged.
    notice = new_notice() if data.get("events") else None
    yield from _announce(context, record, notice)
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
    yield from _announce(context, record, notice, final=True)
    return record


def _announce(context: df.DurableOrchestrationContext, record: dict[str, Any], notice: dict[str, Any] | None,
              final: bool = False) -> Generator[Any, Any, None]:
    if notice is not None:
        yield from announce(context, record["id"], notice, chain_changes(notice, record, _now(context)), final)


def _run_step(context: df.DurableOrchestrationContext, record: dict[str, Any], entry: dict[str, Any],
              request: dict[str, Any], cancel: Any) -> Generator[Any, Any, dict[str, Any]]:
    """Run one step as its job type's orchestration; the step's final run record (also written to `entry`)."""
    request = {**request, "runId": entry["runId"]}
    child = context.call_sub_orchestrator(job_type(request["jobType"]).orchestrator,
                                          RunInput.first(request).to_dict(), entry["runId"])
    entry["status"] = RunStatus.RUNNING.value
    record["currentStep"] = entry["name"]
    context.set_custom_status(record)
    winner = yield context.task_any([child, cancel])
    try:
        # a child that failed wins task_any with its exception as its result (SDK 1.x); awaited, it raises
        run = child.result if winner == child else (yield child)
        if isinstance(run, Exception):
            raise run
    except Exception as exc:  # the step's orchestration failed, or could not start (its id taken)
        run = failed_step_run(entry["runId"], str(exc).split("\n")[0][:300] or type(exc).__name__)
    entry.update(status=run["status"], outputs=run.get("outputs") or {}, error=run.get("error"),
                 parameters=run.get("parameters") or [])
    return run


def _now(context: df.DurableOrchestrationContext) -> str:
    return context.current_utc_datetime.isoformat()
