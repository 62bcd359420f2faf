"""A run's steps (RunStep, `GET /threads/{t}/runs/{r}/steps`), derived from the run's course on the clock.

foundry-agents.md §1 lists the run steps operation (paginated like every list); the RunStep fields are
the azure-ai-agents models' (`id` step_…, `object` "thread.run.step", `type` message_creation | tool_calls,
`status` in_progress | cancelled | failed | completed | expired, `step_details`, `last_error`, the four
`*_at` times, `usage`, `metadata`). How steps follow a run ([invented], kept simple):
- a step opens when the run goes in_progress: a message_creation step, which becomes a tool_calls step
  (its function calls) when the run reaches requires_action;
- tool outputs submitted complete the tool_calls step (each call with its output) and open a new
  message_creation step;
- the run's end ends the open step: completed (also for `incomplete`, which RunStepStatus lacks), failed
  with the run's `last_error`, cancelled or expired; a run that ends before it ever ran has no step;
- a completed message_creation step names the assistant message the run wrote and carries the run's usage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulators.foundry_agents.runs import Run
from simulators.foundry_agents.wire import ID_ALPHABET, ID_LENGTH, unix

STEP_ENDINGS = {"completed": "completed", "incomplete": "completed", "failed": "failed",
                "cancelled": "cancelled", "expired": "expired"}


@dataclass
class Step:
    """One run step while it is being worked out: kind, times, end status and its tool calls."""

    index: int
    created: datetime
    kind: str = "message_creation"
    status: str = "in_progress"
    ended: datetime | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)


def step_id(run: Run, index: int) -> str:
    """`step_` + 24 alphanumerics, stable for a run's n-th step (the same id on every read)."""
    digest = hashlib.sha256(f"{run.id}:{index}".encode()).digest()
    return "step_" + "".join(ID_ALPHABET[b % len(ID_ALPHABET)] for b in digest[:ID_LENGTH])


def run_steps(run: Run, now: datetime) -> list[Step]:
    """The steps of `run` that exist at `now`, oldest first (module rules)."""
    pairs = zip(run.segments, run.segments[1:], strict=False)
    resumed = {segment.start: previous for previous, segment in pairs
               if previous.timeline.final == "requires_action" and segment.timeline.status_at(0) != "cancelling"}
    steps: list[Step] = []
    open_step: Step | None = None
    for moment, status in run.transitions():
        if moment > now:
            break
        if moment in resumed and open_step is not None:  # tool outputs came: the tool calls step is done
            calls = resumed[moment].outcome.tool_calls if resumed[moment].outcome else ()
            open_step.kind, open_step.calls = "tool_calls", [dict(call) for call in calls]
            open_step.status, open_step.ended = "completed", moment
            open_step = None
        if status == "in_progress" and open_step is None:
            open_step = Step(len(steps), moment)
            steps.append(open_step)
        elif status == "requires_action" and open_step is not None:
            open_step.kind = "tool_calls"
            open_step.calls = [dict(call) for call in _calls_at(run, moment)]
        elif status in STEP_ENDINGS and open_step is not None:
            open_step.status, open_step.ended = STEP_ENDINGS[status], moment
            open_step = None
    return steps


def _calls_at(run: Run, moment: datetime) -> tuple[dict[str, Any], ...]:
    """The tool calls of the segment the run was in at `moment`."""
    segment = [s for s in run.segments if s.start <= moment][-1]
    return segment.outcome.tool_calls if segment.outcome else ()


def step_to_wire(run: Run, step: Step, message_id: str | None, now: datetime) -> dict[str, Any]:
    """The RunStep object of `step`."""
    if step.kind == "tool_calls":
        calls = [{**call, "function": {**call.get("function", {}), "output": run.tool_outputs.get(call["id"])}}
                 for call in step.calls]
        details: dict[str, Any] = {"type": "tool_calls", "tool_calls": calls}
    else:
        details = {"type": "message_creation", "message_creation": {"message_id": message_id}}
    failed = step.status == "failed"
    last_run = run.to_wire(now)
    usage = last_run["usage"] if step.kind == "message_creation" and step.ended is not None else None
    return {
        "id": step_id(run, step.index),
        "object": "thread.run.step",
        "type": step.kind,
        "assistant_id": run.assistant_id,
        "thread_id": run.thread_id,
        "run_id": run.id,
        "status": step.status,
        "step_details": details,
        "last_error": last_run["last_error"] if failed else None,
        "created_at": unix(step.created),
        "expired_at": unix(step.ended) if step.status == "expired" else None,
        "completed_at": unix(step.ended) if step.status == "completed" else None,
        "cancelled_at": unix(step.ended) if step.status == "cancelled" else None,
        "failed_at": unix(step.ended) if failed else None,
        "usage": usage,
        "metadata": {},
    }
