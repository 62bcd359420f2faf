"""Build Durable history JSON by hand, one `add_*` per event type, on a fixed epoch with explicit steps.

Used by replay tests to drive the real SDK orchestrator handle without any host (durable-functions.md
§1.2-1.3 for the shape). Timestamps come from the builder's own clock, which only moves when told to.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

EPOCH = datetime(2026, 2, 1, tzinfo=timezone.utc)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class HistoryBuilder:
    """A history under construction; `context()` renders what the host would send."""

    def __init__(self, instance_id: str = "run-1", start: datetime = EPOCH) -> None:
        self.instance_id = instance_id
        self.now = start
        self.events: list[dict[str, Any]] = []
        self.input: Any = None

    def step(self, seconds: float) -> HistoryBuilder:
        self.now += timedelta(seconds=seconds)
        return self

    def _add(self, kind: int, event_id: int = -1, **fields: Any) -> HistoryBuilder:
        self.events.append({"EventType": kind, "EventId": event_id, "IsPlayed": False,
                            "Timestamp": _stamp(self.now), **fields})
        return self

    def add_orchestrator_started(self) -> HistoryBuilder:
        for event in self.events:
            event["IsPlayed"] = True
        return self._add(12)

    def add_execution_started(self, name: str, input_: Any) -> HistoryBuilder:
        self.input = json.dumps(input_)
        return self._add(0, Name=name, Version=None, Input=self.input,
                         OrchestrationInstance={"InstanceId": self.instance_id, "ExecutionId": "e1"})

    def add_task_scheduled(self, event_id: int, name: str) -> HistoryBuilder:
        return self._add(4, event_id, Name=name)

    def add_task_completed(self, scheduled_id: int, result: Any) -> HistoryBuilder:
        return self._add(5, TaskScheduledId=scheduled_id, Result=json.dumps(result))

    def add_task_failed(self, scheduled_id: int, reason: str, details: str = "") -> HistoryBuilder:
        return self._add(6, TaskScheduledId=scheduled_id, Reason=reason, Details=details)

    def add_timer_created(self, event_id: int, fire_at: datetime) -> HistoryBuilder:
        return self._add(10, event_id, FireAt=_stamp(fire_at))

    def add_timer_fired(self, timer_id: int, fire_at: datetime) -> HistoryBuilder:
        return self._add(11, TimerId=timer_id, FireAt=_stamp(fire_at))

    def add_event_raised(self, name: str, payload: Any = None) -> HistoryBuilder:
        return self._add(15, Name=name, Input=json.dumps(payload))

    def add_orchestrator_completed(self) -> HistoryBuilder:
        return self._add(13)

    def context(self) -> str:
        return json.dumps({"history": self.events, "input": self.input, "instanceId": self.instance_id,
                           "isReplaying": False, "parentInstanceId": None, "upperSchemaVersion": 1,
                           "upperSchemaVersionNew": 2})


def first_input(request: dict[str, Any]) -> dict[str, Any]:
    """A new run's orchestration input, as a starter sends it (with its empty event notice)."""
    return {"request": request, "notice": {"sequence": 0, "status": None, "outputs": False}}


def published(b: HistoryBuilder, task_id: int) -> HistoryBuilder:
    """The run's hand-off of its events (orchestrators/notify.py) as task `task_id`: scheduled at the end of
    the current episode, taken in the next one."""
    b.add_task_scheduled(task_id, "publish_events").add_orchestrator_completed()
    return b.add_orchestrator_started().add_task_completed(task_id, {"ok": True, "sinks": 0})


def submit_scheduled(orchestrator: str, request: dict[str, Any]) -> HistoryBuilder:
    """A run's history up to its first submit: started, its Starting event handed off (task 0), the
    zero-length cancel race fired (poll_loop's first wait, timer 1), the submit_run activity scheduled as
    task 2 and the episode completed."""
    b = HistoryBuilder().add_orchestrator_started().add_execution_started(orchestrator, first_input(request))
    published(b, 0).add_timer_created(1, EPOCH).add_orchestrator_completed()
    b.add_orchestrator_started().add_timer_fired(1, EPOCH).add_task_scheduled(2, "submit_run")
    return b.add_orchestrator_completed()


def run(handle, builder: HistoryBuilder) -> dict[str, Any]:
    """Drive the SDK handle once; a failing orchestrator's state comes back with its `error`."""
    try:
        return json.loads(handle(builder.context()))
    except Exception as exc:  # the SDK raises with the state after $OutOfProcData$ (§1.1)
        text = str(exc)
        message, _, data = text.partition("\n\n$OutOfProcData$:")
        state = json.loads(data)
        state.setdefault("error", message)
        return state


def flat_actions(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The state's actions with compound actions flattened, in order."""
    out: list[dict[str, Any]] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            elif item.get("actionType") in (11, 12):
                walk(item.get("compoundActions") or [])
            else:
                out.append(item)

    walk(state.get("actions") or [])
    return out
