"""Run events as CloudEvents 1.0 (structured JSON): what runbridge pushes to a scheduler, built deterministically.

The run's orchestrator keeps a small `notice` (the last sequence number, the last status and whether the
outputs were announced) across continue-as-new, and at each point where its record may have changed asks
`run_changes` for the events that record warrants. The same change always gives the same `id`
(`<runId>:<sequence>`) and body, so consumers drop repeats by `id` and order by `sequence` (1, 2, 3...,
no gaps). `source` (`runbridge/<task hub>`) is filled in by the activity that hands events on: the
orchestrator does not know the task hub's name.

Pure: no I/O, no clock (the caller passes the time of the change).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATUS_CHANGED = "runbridge.run.statusChanged"
OUTPUTS_WRITTEN = "runbridge.run.outputsWritten"
CHAIN_STATUS_CHANGED = "runbridge.chain.statusChanged"
TEST = "runbridge.test"
EVENT_TYPES = (STATUS_CHANGED, OUTPUTS_WRITTEN, CHAIN_STATUS_CHANGED, TEST)
_ENDED = frozenset({"Success", "Failed", "Cancelled"})


def delivery_instance(owner: str) -> str:
    """The instance id of the delivery orchestration of a run or chain (orchestrators/notify.py)."""
    return f"{owner}:events"


def new_notice() -> dict[str, Any]:
    """The notice of a run that has announced nothing yet."""
    return {"sequence": 0, "status": None, "outputs": False}


def is_final(event: Mapping[str, Any]) -> bool:
    """True for the last event a run or chain sends: the change to an ended status."""
    return event.get("type") in (STATUS_CHANGED, CHAIN_STATUS_CHANGED) and event["data"]["status"] in _ENDED


def run_changes(notice: dict[str, Any], run: Mapping[str, Any], time: str) -> list[dict[str, Any]]:
    """The events `run` warrants since `notice` (updated in place): its outputs once written (at its end,
    before the final status), and each change of its status."""
    events = []
    status = run.get("status")
    if status in _ENDED and run.get("outputs") and not notice["outputs"]:
        notice["outputs"] = True
        events.append(_next(notice, OUTPUTS_WRITTEN, f"runs/{run['id']}", time,
                            {"status": status, "outputs": dict(run["outputs"]), "run": dict(run)}, run["id"]))
    if status != notice["status"]:
        previous, notice["status"] = notice["status"], status
        events.append(_next(notice, STATUS_CHANGED, f"runs/{run['id']}", time,
                            {"previousStatus": previous, "status": status, "run": dict(run)}, run["id"]))
    return events


def chain_changes(notice: dict[str, Any], chain: Mapping[str, Any], time: str) -> list[dict[str, Any]]:
    """The event a chain record warrants since `notice`: a change of its status, with its steps' states."""
    status = chain.get("status")
    if status == notice["status"]:
        return []
    previous, notice["status"] = notice["status"], status
    steps = [{"name": s["name"], "runId": s["runId"], "status": s["status"]} for s in chain.get("steps") or []]
    return [_next(notice, CHAIN_STATUS_CHANGED, f"chains/{chain['id']}", time,
                  {"previousStatus": previous, "status": status, "steps": steps, "chain": dict(chain)}, chain["id"])]


def test_event(sink: str, event_id: str, time: str, source: str) -> dict[str, Any]:
    """The `runbridge.test` event `POST /api/notifications/{name}/test` sends."""
    return with_source(cloud_event(event_id, TEST, f"notifications/{sink}", time, 1,
                                   {"sink": sink, "message": "A test event from runbridge."}), source)


def cloud_event(event_id: str, event_type: str, subject: str, time: str, sequence: int,
                data: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudEvents 1.0 event in structured JSON mode, `source` left for `with_source`."""
    return {"specversion": "1.0", "id": event_id, "source": None, "type": event_type, "subject": subject,
            "time": time, "datacontenttype": "application/json", "sequence": sequence, "data": dict(data)}


def with_source(event: Mapping[str, Any], source: str) -> dict[str, Any]:
    return {**event, "source": source}


def source_for(task_hub: str) -> str:
    return f"runbridge/{task_hub}"


def _next(notice: dict[str, Any], event_type: str, subject: str, time: str, data: dict[str, Any],
          owner: str) -> dict[str, Any]:
    notice["sequence"] += 1
    return cloud_event(f"{owner}:{notice['sequence']}", event_type, subject, time, notice["sequence"], data)
