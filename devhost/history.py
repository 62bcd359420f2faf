"""Durable Task history events, in the JSON shape the Functions host sends to the Python worker.

Reference: durable-functions.md §1.3 (event types and fields) and §1.2 (required fields: every event
has a `Timestamp`, ExecutionStarted carries `Version`, timestamps end in `Z`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

UTC = timezone.utc
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class EventType(IntEnum):
    """DTFx `EventType` numbers (durable-functions.md §1.3)."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20


class OrchestrationStatus(IntEnum):
    """DTFx `OrchestrationStatus` numbers, as ExecutionCompleted carries them."""

    Running = 0
    Completed = 1
    ContinuedAsNew = 2
    Failed = 3
    Canceled = 4
    Terminated = 5
    Pending = 6
    Suspended = 7


def format_time(when: datetime) -> str:
    """Render an aware datetime as the fixed-width UTC text used in history and in the store.

    Fixed width keeps the store's text comparisons equal to time comparisons.
    """
    return when.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """Parse a timestamp written by `format_time` (or any ISO 8601 text with an offset or `Z`)."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def event(kind: EventType, when: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """One history event with the common fields every event needs."""
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": format_time(when),
            **fields}


def execution_started(when: datetime, name: str, input_text: str | None, instance_id: str,
                      execution_id: str, parent: dict[str, Any] | None = None,
                      version: str | None = None) -> dict[str, Any]:
    """ExecutionStarted; `Version` must be present (null is fine) or the 1.x SDK crashes (§1.2). The SDK's
    `context.version` reads it: the version a start asked for, else host.json's `defaultVersion`."""
    return event(EventType.ExecutionStarted, when, Name=name, Version=version, Input=input_text,
                 OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
                 ParentInstance=parent, Tags=None, Correlation=None, ScheduledStartTime=None, Generation=0)


def is_completion(ev: dict[str, Any]) -> bool:
    """Whether an event completes a task the orchestrator may be waiting on."""
    return ev["EventType"] in _COMPLETIONS


_COMPLETIONS = {
    EventType.TaskCompleted, EventType.TaskFailed, EventType.TimerFired,
    EventType.SubOrchestrationInstanceCompleted, EventType.SubOrchestrationInstanceFailed,
    EventType.EventRaised,
}
