"""One orchestration episode: replay the history through the SDK, then turn its actions into history.

This is the host half of the "OrchestratorShim" protocol (durable-functions.md §1.4-1.6): the worker
returns every action it ever scheduled; the host matches them to history by sequence number, appends
events only for new ones, checks that replayed actions did not change (non-determinism), runs the
retry loop of `*_with_retry` itself, and decides when the execution ends. Pure with respect to storage:
the caller loads the inputs and commits the `Outcome` in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .entities import request_id
from .history import EventType, event, format_time, parse_time

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"

# ActionType numbers (durable-functions.md §1.5)
CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT = 4, 5, 6
CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY = 7, 8, 9
WHEN_ANY, WHEN_ALL = 11, 12

UNSUPPORTED_ACTIONS = {
    CALL_HTTP: "durable HTTP calls (call_http)",
}


class NonDeterminismError(Exception):
    """Replayed actions differ from the history: the orchestrator code or its inputs changed."""


@dataclass
class Instance:
    """What an episode needs to know about the instance it runs."""

    instance_id: str
    name: str
    execution_id: str
    input: Any  # the input token (usually a str holding JSON text, as the SDK's client sends it)
    parent_instance_id: str | None = None


@dataclass
class ChildStart:
    """A sub-orchestration the episode asks the host to create."""

    instance_id: str
    name: str
    input_text: str | None
    task_id: int
    version: str | None = None  # None: the host's default version


@dataclass
class EntityMessage:
    """A signal (request_id None) or a call an episode sends to an entity."""

    entity_id: str  # scheduler id, as the SDK wrote it (@name@key, name in lower case)
    operation: str
    input_text: str | None
    request_id: str | None


@dataclass
class Outcome:
    """Everything an episode decided, for the caller to commit atomically."""

    events: list[dict[str, Any]] = field(default_factory=list)  # appended to the current execution
    timers: list[tuple[int, datetime]] = field(default_factory=list)  # TimerFired(seq) due at time
    cancelled_timers: list[int] = field(default_factory=list)
    activities: list[tuple[int, str, str | None]] = field(default_factory=list)  # (seq, name, input)
    children: list[ChildStart] = field(default_factory=list)
    entity_messages: list[EntityMessage] = field(default_factory=list)
    runtime_status: str = "Running"  # Running | Completed | Failed | ContinuedAsNew
    output: Any = None
    failure: tuple[str, str] | None = None  # (Reason, Details) for a parent's SubOrchestrationInstanceFailed
    custom_status: Any = None
    continue_input: Any = None  # the new execution's input token on continue_as_new
    carried_events: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


def new_state(execution_id: str) -> dict[str, Any]:
    """Bookkeeping for a fresh execution (stored beside the history, JSON)."""
    return {"execution_id": execution_id, "next_seq": 0, "scheduled": [], "open": {}, "retries": {}}


def run_episode(handler: Callable[[str], str], inst: Instance, past: list[dict[str, Any]],
                new_events: list[dict[str, Any]], state: dict[str, Any], now: datetime) -> Outcome:
    """Replay `past` plus `new_events` through the orchestrator and decide what happens next."""
    state = json.loads(json.dumps(state))  # work on a copy; the caller commits outcome.state
    out = Outcome(state=state)
    batch = [event(EventType.OrchestratorStarted, now)]
    batch += _order_and_allocate(new_events, state, now, out)

    result = _invoke(handler, inst, past + batch)
    out.events = list(batch)
    out.custom_status = result.get("customStatus")
    try:
        _decide(handler, inst, past, batch, result, state, now, out)
    finally:
        out.events.append(event(EventType.OrchestratorCompleted, now))
    return out


def _decide(handler: Callable[[str], str], inst: Instance, past: list[dict[str, Any]],
            batch: list[dict[str, Any]], result: dict[str, Any], state: dict[str, Any], now: datetime,
            out: Outcome) -> None:
    if "error" in result:
        _fail(out, inst, result["error"])
        return
    try:
        continue_as_new = _interpret_actions(result, state, now, out)
    except NonDeterminismError as exc:
        _fail(out, inst, f"Non-Deterministic workflow detected: {exc}")
        return
    except NotImplementedError as exc:
        _fail(out, inst, f"devhost does not support {exc}; run this app under the Functions host instead")
        return
    if not result.get("isDone"):
        return
    if continue_as_new is not None:
        seq = state["next_seq"]
        out.events.append(event(EventType.ContinueAsNew, now, seq, Result=continue_as_new))
        out.runtime_status = "ContinuedAsNew"
        out.continue_input = continue_as_new
        out.carried_events = _carry_over(handler, inst, past, batch)
    elif not state["open"]:
        # DTFx ends an execution only when no scheduled task is still open (§1.6): an un-cancelled
        # timer keeps the instance Running until it fires.
        out.output = result.get("output")
        out.runtime_status = "Completed"
        out.events.append(event(EventType.ExecutionCompleted, now, state["next_seq"],
                                OrchestrationStatus=1, Result=json.dumps(out.output), FailureDetails=None))
    return


def _invoke(handler: Callable[[str], str], inst: Instance, history: list[dict[str, Any]]) -> dict[str, Any]:
    context = {
        "history": history,
        "input": _context_input(inst.input),
        "instanceId": inst.instance_id,
        "isReplaying": False,
        "parentInstanceId": inst.parent_instance_id,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
    }
    try:
        return json.loads(handler(json.dumps(context)))
    except Exception as exc:  # the SDK reports orchestrator failures as an exception (§1.1)
        text = str(exc)
        if OUT_OF_PROC_MARKER in text:
            message, _, data = text.partition(OUT_OF_PROC_MARKER)
            parsed = json.loads(data)
            parsed.setdefault("error", message)
            return parsed
        return {"isDone": False, "actions": [], "error": text or type(exc).__name__}


def _context_input(token: Any) -> Any:
    # The SDK expects a str holding JSON text (or a dict, which it re-dumps); other JSON values are
    # passed as text so get_input() can decode them (§1.2, §1.7).
    if token is None or isinstance(token, (str, dict)):
        return token
    return json.dumps(token)


def _fail(out: Outcome, inst: Instance, error: str) -> None:
    message = f"Orchestrator function '{inst.name}' failed: {error}"
    out.runtime_status = "Failed"
    out.output = message
    out.failure = (message, error)
    out.events.append(event(EventType.ExecutionCompleted, parse_time(out.events[0]["Timestamp"]),
                            out.state["next_seq"], OrchestrationStatus=3, Result=message,
                            FailureDetails={"ErrorType": "OrchestrationFailure", "ErrorMessage": error}))


def _order_and_allocate(new_events: list[dict[str, Any]], state: dict[str, Any], now: datetime,
                        out: Outcome) -> list[dict[str, Any]]:
    """Order this episode's new events and run the host side of activity/sub-orchestration retries.

    The SDK gives a retried task's timer and next attempt the next sequence numbers at the moment it
    replays the failure or the timer (its `RetryAbleTask`), while new yields take numbers when the
    generator resumes. Events that make the SDK take a number never resume the generator, so placing
    them first makes the host's numbering equal the SDK's whatever else arrives in the batch.
    """
    started = [e for e in new_events if e["EventType"] == EventType.ExecutionStarted]
    rest = [e for e in new_events if e["EventType"] != EventType.ExecutionStarted]
    allocating = [e for e in rest if _retry_slot_for(e, state) is not None and _allocates(e, state)]
    others = [e for e in rest if not any(e is a for a in allocating)]
    batch = list(started)
    for ev in allocating:
        batch.append(ev)
        batch.extend(_advance_retry(ev, state, now, out))
    for ev in others:
        _close_task(ev, state)
        batch.append(ev)
    return batch


def _retry_slot_for(ev: dict[str, Any], state: dict[str, Any]) -> dict[str, Any] | None:
    key = ev.get("TaskScheduledId", ev.get("TimerId"))
    if key is None:
        return None
    return state["retries"].get(str(key))


def _allocates(ev: dict[str, Any], state: dict[str, Any]) -> bool:
    kind = ev["EventType"]
    slot = _retry_slot_for(ev, state)
    if kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
        return slot is not None and slot["phase"] == "attempt"
    if kind == EventType.TimerFired:
        return slot is not None and slot["phase"] == "timer" and not slot["final"]
    return False


def _advance_retry(ev: dict[str, Any], state: dict[str, Any], now: datetime, out: Outcome) -> list[dict]:
    """Host-side retry loop (durable-functions.md §1.6 "Retry"): failure → timer → next attempt."""
    slot = state["retries"].pop(str(ev.get("TaskScheduledId", ev.get("TimerId"))))
    state["open"].pop(str(ev.get("TaskScheduledId", ev.get("TimerId"))), None)
    seq = _take_seq(state)
    if slot["phase"] == "attempt":
        opts = slot["options"]
        elapsed_ms = (now - parse_time(slot["first_at"])).total_seconds() * 1000
        timed_out = opts.get("retryTimeoutInMilliseconds") and elapsed_ms >= opts["retryTimeoutInMilliseconds"]
        final = slot["attempt"] >= int(opts.get("maxNumberOfAttempts", 1)) or bool(timed_out)
        delay_ms = 0.0
        if not final:
            delay_ms = float(opts.get("firstRetryIntervalInMilliseconds", 0)) * (
                float(opts.get("backoffCoefficient", 1) or 1) ** (slot["attempt"] - 1))
            cap = opts.get("maxRetryIntervalInMilliseconds")
            if cap:
                delay_ms = min(delay_ms, float(cap))
        # After the last attempt DTFx still schedules one timer that fires at once; the SDK waits
        # for it before surfacing the failure.
        fire_at = now + timedelta(milliseconds=delay_ms)
        slot.update(phase="timer", final=final)
        state["retries"][str(seq)] = slot
        state["open"][str(seq)] = "timer"
        out.timers.append((seq, fire_at))
        return [event(EventType.TimerCreated, now, seq, FireAt=format_time(fire_at))]
    slot.update(phase="attempt", attempt=slot["attempt"] + 1)
    state["retries"][str(seq)] = slot
    return _schedule(slot["kind"], slot["name"], slot["input"], seq, slot.get("instance_id"), state,
                     now, out, slot.get("version"))


def _close_task(ev: dict[str, Any], state: dict[str, Any]) -> None:
    key = ev.get("TaskScheduledId", ev.get("TimerId"))
    if key is not None:
        state["open"].pop(str(key), None)
        slot = state["retries"].get(str(key))
        if slot is not None and (slot["phase"] == "attempt" or slot["final"]):
            state["retries"].pop(str(key))


def _take_seq(state: dict[str, Any]) -> int:
    seq = state["next_seq"]
    state["next_seq"] = seq + 1
    return seq


def _schedule(kind: str, name: str, input_text: str | None, seq: int, instance_id: str | None,
              state: dict[str, Any], now: datetime, out: Outcome, version: str | None = None) -> list[dict[str, Any]]:
    state["open"][str(seq)] = kind
    if kind == "activity":
        out.activities.append((seq, name, input_text))
        return [event(EventType.TaskScheduled, now, seq, Name=name, Version="",
                      Input=json.dumps([input_text]) if input_text is not None else None)]
    # The Functions host names an unnamed sub-orchestration "<parent execution id>:<seq>" (§1.6).
    child_id = instance_id or f"{state['execution_id']}:{seq}"
    out.children.append(ChildStart(child_id, name, input_text, seq, version))
    return [event(EventType.SubOrchestrationInstanceCreated, now, seq, Name=name, Version="",
                  InstanceId=child_id, Input=input_text)]


def _flatten(entries: list[Any]) -> list[dict[str, Any]]:
    atoms: list[dict[str, Any]] = []
    for entry in entries:
        if isinstance(entry, list):
            atoms.extend(_flatten(entry))
        elif entry.get("actionType") in (WHEN_ANY, WHEN_ALL):
            atoms.extend(_flatten(entry.get("compoundActions") or []))
        else:
            atoms.append(entry)
    return atoms


def _interpret_actions(result: dict[str, Any], state: dict[str, Any], now: datetime, out: Outcome) -> Any:
    """Match the SDK's full action list to what is scheduled; schedule the new ones.

    Returns the continue-as-new input when the orchestrator asked for one, else None.
    """
    if result.get("schemaVersion") in (None, 0) and len(result.get("actions") or []) > 1:
        raise NotImplementedError("replay schema V1 (azure-functions-durable < 1.7)")
    atoms = _flatten(result.get("actions") or [])
    scheduled = state["scheduled"]
    continue_input = None
    for index, action in enumerate(atoms):
        kind = action.get("actionType")
        if kind == CONTINUE_AS_NEW:
            continue_input = action.get("input")
            continue
        if kind in UNSUPPORTED_ACTIONS:
            raise NotImplementedError(UNSUPPORTED_ACTIONS[kind])
        if index < len(scheduled):
            _check_replayed(scheduled[index], action, index)
            if kind == CREATE_TIMER and action.get("isCanceled"):
                seq = scheduled[index][2]
                if state["open"].pop(str(seq), None) is not None:
                    out.cancelled_timers.append(seq)
            continue
        scheduled.append(_schedule_new(action, state, now, out))
    return continue_input


def _check_replayed(record: list[Any], action: dict[str, Any], index: int) -> None:
    kind, name = action.get("actionType"), action.get("functionName")
    recorded_kind, recorded_name = record[0], record[1]
    unnamed = kind in (CREATE_TIMER, WAIT_EVENT, CALL_ENTITY, SIGNAL_ENTITY)
    same_name = unnamed or (name or "").lower() == (recorded_name or "").lower()
    if kind != recorded_kind or not same_name:
        raise NonDeterminismError(
            f"action {index} was {_describe(recorded_kind, recorded_name)} in history but the code now "
            f"schedules {_describe(kind, name)}")


def _describe(kind: int, name: str | None) -> str:
    labels = {CALL_ACTIVITY: "activity", CALL_ACTIVITY_RETRY: "activity", CALL_SUB: "sub-orchestration",
              CALL_SUB_RETRY: "sub-orchestration", CREATE_TIMER: "a timer", WAIT_EVENT: "an event wait"}
    label = labels.get(kind, f"action type {kind}")
    return f"{label} '{name}'" if name else label


def _schedule_new(action: dict[str, Any], state: dict[str, Any], now: datetime, out: Outcome) -> list[Any]:
    kind = action.get("actionType")
    name = action.get("functionName")
    if kind == WAIT_EVENT:
        return [kind, action.get("externalEventName"), None]
    seq = _take_seq(state)
    if kind in (CALL_ENTITY, SIGNAL_ENTITY):
        # One EventSent per entity message (§1.6); a call's result comes back as an EventRaised named
        # by the request id that EventSent carries, which the SDK reads to match it.
        target, operation = action.get("instanceId") or "", action.get("operation") or ""
        request = request_id(state["execution_id"], seq) if kind == CALL_ENTITY else None
        payload = {"id": request or request_id(state["execution_id"], seq), "op": operation,
                   "signal": kind == SIGNAL_ENTITY, "input": action.get("input")}
        out.entity_messages.append(EntityMessage(target, operation, action.get("input"), request))
        out.events.append(event(EventType.EventSent, now, seq, InstanceId=target, Name="op",
                                Input=json.dumps(payload)))
        return [kind, target, seq]
    if kind == CREATE_TIMER:
        fire_at = parse_time(action["fireAt"])
        if action.get("isCanceled"):
            out.events.append(event(EventType.TimerCreated, now, seq, FireAt=format_time(fire_at)))
        else:
            state["open"][str(seq)] = "timer"
            out.timers.append((seq, fire_at))
            out.events.append(event(EventType.TimerCreated, now, seq, FireAt=format_time(fire_at)))
        return [kind, None, seq]
    task_kind = "activity" if kind in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY) else "sub"
    instance_id = action.get("instanceId") if task_kind == "sub" else None
    if kind in (CALL_ACTIVITY_RETRY, CALL_SUB_RETRY):
        state["retries"][str(seq)] = {
            "kind": task_kind, "name": name, "input": action.get("input"), "instance_id": instance_id,
            "options": action.get("retryOptions") or {}, "attempt": 1, "phase": "attempt", "final": False,
            "first_at": format_time(now), "version": action.get("version"),
        }
    out.events.extend(_schedule(task_kind, name, action.get("input"), seq, instance_id, state, now, out,
                                action.get("version")))
    return [kind, name, seq]


def _carry_over(handler: Callable[[str], str], inst: Instance, past: list[dict[str, Any]],
                batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """EventRaised events of this batch that the SDK had not reached when it decided to continue as new.

    DTFx carries those into the new execution, while events the SDK already buffered are dropped
    (durable-functions.md §1.6 "ContinueAsNew"). The decision point is found by replaying prefixes.
    """
    raised = [i for i, e in enumerate(batch) if e["EventType"] == EventType.EventRaised]
    if not raised:
        return []
    for end in range(1, len(batch)):
        result = _invoke(handler, inst, past + batch[:end])
        if result.get("isDone") and any(a.get("actionType") == CONTINUE_AS_NEW
                                        for a in _flatten(result.get("actions") or [])):
            return [batch[i] for i in raised if i >= end]
    return []
