"""A run's timeline: the moments of its Durable history an operator cares about, in order.

The history API lists raw Durable events (timers, task completions...). The dashboard draws this
instead: the start (or the continue-as-new that began this execution), the submit, each poll with the
remote status it saw, a cancel asked and sent, the outputs read, and the end. It reads only the event
shapes of `GET /api/runs/{id}/history`; what the activities answered and what a continued execution carried
it reads through the run protocol (core/protocol.py), the only place that knows their names and shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from core.payloads import decode_json_text as decode
from core.protocol import (
    CANCEL_EVENT,
    CANCEL_RUN,
    POLL_RUN,
    READ_OUTPUTS,
    SUBMIT_RUN,
    ActivityError,
    OutputsRead,
    Polled,
    RunEvent,
    RunInput,
    Submitted,
    read_result,
)


def timeline_from_events(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The timeline points of one execution's history events, oldest first.

    Each point is `{"kind", "time", "label"}` plus, where known, `status` (a run status) and `remoteStatus`.
    Kinds: started, remote_started, continued, submitted, submit_retry, submit_wait, submit_failed, poll,
    poll_error,
    cancel_requested, cancel_sent, cancel_failed, outputs, ended, failed. An execution begun by
    continue-as-new starts with the earlier executions' moments the poll loop carried over (submit, each
    status change, cancel, each continue-as-new), so the timeline covers the whole run.
    """
    points: list[dict[str, Any]] = []
    for event in events:
        if event.get("type") == "ExecutionStarted":
            started = _run_input(event.get("input"))
            if started is not None and started.continued:
                points.extend(_carried_over(started, event.get("time")))
                continue
        point = _point(event)
        if point is not None:
            points.append({"time": event.get("time"), **point})
    return points


def _run_input(raw: Any) -> RunInput | None:
    try:
        return RunInput.from_dict(raw)
    except ValueError:  # not a run's input (a chain's)
        return None


def _carried_over(data: RunInput, time: Any) -> list[dict[str, Any]]:
    """The moments of earlier executions, whose events continue-as-new discarded (durable-functions.md §1.6:
    a new execution starts with a fresh history): the ones the poll loop carried over in its input (the
    last of them is the continue-as-new itself), or, from a loop that carried none, what the run record
    remembers."""
    run = dict(data.run or {})
    points = [{"time": run.get("createdAt"), "kind": "started", "label": "run accepted"}]
    if data.moments:
        points += [point for point in (_moment(dict(m), run) for m in data.moments) if point]
        return [p for p in points if p["time"]]
    if run.get("startedAt"):
        points.append({"time": run["startedAt"], "kind": "remote_started", "label": "remote job started running"})
    points.append({"time": time, **_continued(run)})
    return [p for p in points if p["time"]]


def _moment(moment: dict[str, Any], run: dict[str, Any]) -> dict[str, Any] | None:
    status, remote = moment.get("status"), moment.get("remoteStatus")
    event = moment.get("event")
    if event == RunEvent.SUBMITTED:
        point = {"kind": "submitted", "label": f"submitted {run.get('remoteRunId') or ''}".strip()}
    elif event == RunEvent.STATUS_CHANGED:
        point = {"kind": "poll", "label": f"{status} ({remote})" if remote else str(status)}
    elif event == RunEvent.CANCEL_REQUESTED:
        point = {"kind": "cancel_requested", "label": "cancel requested"}
    elif event == RunEvent.WAITING:
        point = {"kind": "submit_wait", "label": "waiting for the platform before submitting"}
    elif event == RunEvent.CONTINUED_AS_NEW:
        point = _continued(moment)
    else:
        return None
    return {"time": moment.get("time"), "status": status, "remoteStatus": remote, **point}


def _point(event: Mapping[str, Any]) -> dict[str, Any] | None:
    kind, name = event.get("type"), event.get("name")
    if kind == "ExecutionStarted":
        return {"kind": "started", "label": "run accepted"}
    if kind == "EventRaised" and name == CANCEL_EVENT:
        return {"kind": "cancel_requested", "label": "cancel requested"}
    if kind == "TaskCompleted":
        reader = _TASKS.get(str(name))
        result = read_result(str(name), event.get("result"))
        return reader(result) if reader and result is not None else None
    if kind in ("TaskFailed", "SubOrchestrationInstanceFailed"):
        return {"kind": "failed", "label": f"{name or 'task'} failed: {_text(event.get('reason'))}"}
    if kind == "ExecutionCompleted":
        return _ended(decode(event.get("result")))
    return None


def _continued(seen: dict[str, Any]) -> dict[str, Any]:
    polls = seen.get("polls") or 0
    return {"kind": "continued", "label": f"continued as new after {polls} polls",
            "status": seen.get("status"), "remoteStatus": seen.get("remoteStatus"), "polls": polls}


def _submitted(result: Submitted | ActivityError) -> dict[str, Any]:
    if isinstance(result, Submitted):
        return {"kind": "submitted", "label": f"submitted {result.remote_run_id}".strip(),
                "remoteStatus": result.remote_status}
    if result.busy:
        return {"kind": "submit_wait", "label": f"platform busy, waiting: {_text(result.error.message)}"}
    kind = "submit_retry" if result.transient else "submit_failed"
    verb = "submit failed, will retry" if result.transient else "submit failed"
    return {"kind": kind, "label": f"{verb}: {_text(result.error.message)}"}


def _polled(result: Polled | ActivityError) -> dict[str, Any]:
    if isinstance(result, ActivityError):
        return {"kind": "poll_error", "label": f"poll failed, will retry: {_text(result.error.message)}"}
    status, remote = result.status.value, result.remote_status
    return {"kind": "poll", "label": f"{status} ({remote})" if remote else status, "status": status,
            "remoteStatus": remote}


def _cancel_sent(result: Any) -> dict[str, Any]:
    if isinstance(result, ActivityError):
        return {"kind": "cancel_failed", "label": f"cancel call failed: {_text(result.error.message)}"}
    return {"kind": "cancel_sent", "label": "cancel sent to the platform"}


def _outputs(result: OutputsRead | ActivityError) -> dict[str, Any]:
    if isinstance(result, ActivityError):
        return {"kind": "poll_error", "label": f"reading outputs failed: {_text(result.error.message)}"}
    names = sorted(result.outputs.keys())
    return {"kind": "outputs", "label": "outputs read: " + (", ".join(names) or "none")}


def _ended(record: Any) -> dict[str, Any]:
    status = record.get("status") if isinstance(record, dict) else None
    error = record.get("error") if isinstance(record, dict) else None
    label = f"ended {status}" if status else "ended"
    if isinstance(error, dict) and error.get("code"):
        label += f" ({error['code']})"
    return {"kind": "ended", "label": label, "status": status,
            "remoteStatus": record.get("remoteStatus") if isinstance(record, dict) else None}


_TASKS = {SUBMIT_RUN: _submitted, POLL_RUN: _polled, CANCEL_RUN: _cancel_sent, READ_OUTPUTS: _outputs}


def _text(value: Any, limit: int = 200) -> str:
    if isinstance(value, dict):
        value = value.get("message") or json.dumps(value)
    text = str(value or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
