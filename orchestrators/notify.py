"""Run events on their way: the hand-off a run or chain makes, and the per-run delivery orchestration.

A run's orchestrator calls `announce` where its record may have changed; it builds the events
deterministically (core/cloud_events.py) and hands them to the `publish_events` activity, which answers at
once. The delivery orchestration `deliver_run_events` (instance `<owner>:events`) then owns them:

- it delivers in order, one `deliver_events` round per batch; each sink keeps its own progress, so a sink
  that is down holds back only its own events;
- a failed round is tried again after a backoff on a durable timer (10 s doubling to 15 min, never before a
  sink's Retry-After); new events arriving meanwhile are delivered at once to the sinks that are up;
- a sink that has failed for 24 hours has its owed events parked on `runbridge-events-undelivered`
  (`park_events`) and the delivery notes it in its custom status, which the run's timeline shows;
- it ends once the owner's final event (the change to an ended status) is delivered everywhere, and
  continues as new every few rounds so a long outage keeps its history short.

At least once: a hand-off repeated after a crash brings events already held (same ids); they are merged by
sequence, and a sink's progress skips what it has. Events raised while this orchestration restarts
(continue-as-new) go to the new execution; it always keeps one waiter open, so none is buffered and lost.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskState

from activities.notify import DELIVERY_ORCHESTRATOR, EVENTS_EVENT
from core.cloud_events import is_final

bp = df.Blueprint()
PUBLISH = "publish_events"
FIRST_BACKOFF = 10.0
MAX_BACKOFF = 900.0
GIVE_UP_AFTER = timedelta(hours=24)
ROUNDS_PER_EXECUTION = 20
ALL_SINKS = "(all sinks)"  # progress key while deliver_events itself fails (it names no sink then)
PUBLISH_RETRIES = 3  # a run's last hand-off, when the task hub did not take it: tried again this often


def announce(context: df.DurableOrchestrationContext, owner: str, notice: dict[str, Any],
             events: list[dict[str, Any]], final: bool = False) -> Generator[Any, Any, None]:
    """Hand `events` (and any not yet taken) to the owner's delivery orchestration; never fails the caller.

    The sinks a run's request named (`notify`) ride in its notice; a chain names none.

    Events the task hub did not take stay in `notice["unsent"]` for the next hand-off; the final one is
    tried a few times on short durable timers, since nothing comes after it.
    """
    pending = list(notice.get("unsent") or []) + events
    notify = list(notice.get("notify") or [])
    for attempt in range(PUBLISH_RETRIES if final else 1):
        if not pending:
            break
        try:
            result = yield context.call_activity(PUBLISH, {"owner": owner, "notify": notify, "events": pending})
        except Exception:  # the activity itself failed: treat as not taken
            result = {"ok": False}
        if result.get("ok"):
            pending = []
        elif final and attempt + 1 < PUBLISH_RETRIES:
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=FIRST_BACKOFF))
    notice["unsent"] = pending


@bp.orchestration_trigger(context_name="context", orchestration=DELIVERY_ORCHESTRATOR)
def deliver_run_events(context: df.DurableOrchestrationContext):
    """Deliver an owner's events to every sink in order, retrying on durable timers; see the module doc."""
    return (yield from deliver(context))


def deliver(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """The delivery orchestration's body (tests/replay drive it through the SDK handle)."""
    state = _state(context.get_input())
    inbox = _Inbox(context, state)
    for _ in range(ROUNDS_PER_EXECUTION):
        if not state["events"]:
            if state["final"]:
                break
            _publish(context, state)
            yield inbox.waiter
            inbox.take()
            continue
        result = yield from inbox.call("deliver_events", {"events": state["events"], "notify": state["notify"],
                                                          "progress": state["progress"]})
        if result is None:  # deliver_events failed: every sink is owed what it was owed
            owed = state["progress"] or {ALL_SINKS: 0}
            result = {"progress": owed, "failures": {sink: {"error": "deliver_events failed"} for sink in owed}}
        state["progress"] = result["progress"]  # the sinks configured now
        failing = result["failures"]
        yield from _give_up_on_old_failures(context, inbox, state, failing)
        _drop_delivered(state)
        if not state["failingSince"]:
            state["attempt"], state["failing"] = 0, {}
            continue
        wait = min(FIRST_BACKOFF * 2 ** state["attempt"], MAX_BACKOFF)
        wait = max([wait, *(float(f.get("retryAfter") or 0) for f in failing.values())])
        state["attempt"] += 1
        state["failing"] = {s: f.get("error") for s, f in failing.items()}
        _publish(context, state)
        timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=wait))
        if (yield context.task_any([timer, inbox.waiter])) == inbox.waiter:
            timer.cancel()  # new events: deliver them now to the sinks that are up
            inbox.take()
    else:
        _publish(context, state)
        context.continue_as_new(state)
        return state
    _publish(context, state)
    return state


class _Inbox:
    """The one open waiter for hand-offs: every event raised completes it, and it is renewed at once."""

    def __init__(self, context: df.DurableOrchestrationContext, state: dict[str, Any]) -> None:
        self.context = context
        self.state = state
        self.waiter = context.wait_for_external_event(EVENTS_EVENT)

    def take(self) -> None:
        _merge(self.state, self.waiter.result)
        self.waiter = self.context.wait_for_external_event(EVENTS_EVENT)

    def call(self, activity: str, payload: dict[str, Any]) -> Generator[Any, Any, Any]:
        """An activity's result (None when the activity itself failed: a bug, retried like a refusal);
        hand-offs arriving meanwhile are taken as they come."""
        task = self.context.call_activity(activity, payload)
        while True:
            winner = yield self.context.task_any([task, self.waiter])
            if winner == self.waiter:
                self.take()
            if task.is_completed:
                return None if task.state is TaskState.FAILED else task.result


def _give_up_on_old_failures(context: df.DurableOrchestrationContext, inbox: _Inbox, state: dict[str, Any],
                             failing: Mapping[str, Any]) -> Generator[Any, Any, None]:
    """Track since when each sink fails; one failing for 24 hours has its owed events parked."""
    now = context.current_utc_datetime
    for sink in [s for s in state["failingSince"] if s not in failing]:
        del state["failingSince"][sink]
    for sink in failing:
        since = state["failingSince"].setdefault(sink, now.isoformat())
        if now - datetime.fromisoformat(since) < GIVE_UP_AFTER:
            continue
        owed = [e for e in state["events"] if e["sequence"] > state["progress"].get(sink, 0)]
        if not owed:
            continue
        parked = yield from inbox.call("park_events", {"sink": sink, "events": owed,
                                                       "reason": failing[sink].get("error")})
        state["undelivered"].append({"time": now.isoformat(), "sink": sink, "ids": [e["id"] for e in owed],
                                     "queued": bool(parked and parked["queued"]), "error": failing[sink].get("error")})
        state["progress"][sink] = max(e["sequence"] for e in owed)
        del state["failingSince"][sink]


def _state(data: Any) -> dict[str, Any]:
    if isinstance(data, str):  # inputs sent through the SDK client arrive as JSON text
        data = json.loads(data)
    state = {"owner": data["owner"], "notify": list(data.get("notify") or []), "events": [], "progress": {},
             "failingSince": {}, "attempt": 0, "final": False, "undelivered": [], "failing": {}}
    for key in ("progress", "failingSince", "attempt", "final", "undelivered", "failing"):
        if key in data:
            state[key] = data[key]
    _merge(state, data)
    return state


def _merge(state: dict[str, Any], message: Mapping[str, Any] | str) -> None:
    """Add a hand-off's events; a repeated one (same sequence) is dropped, as is one every sink has."""
    if isinstance(message, str):
        message = json.loads(message)
    held = {e["sequence"] for e in state["events"]}
    floor = min(state["progress"].values(), default=0)
    for event in message.get("events") or []:
        if event["sequence"] not in held and (event["sequence"] > floor or not state["progress"]):
            state["events"].append(event)
            held.add(event["sequence"])
        state["final"] = state["final"] or is_final(event)
    state["events"].sort(key=lambda e: e["sequence"])


def _drop_delivered(state: dict[str, Any]) -> None:
    floor = min(state["progress"].values(), default=None)  # None: no sink is configured, nothing is owed
    state["events"] = [] if floor is None else [e for e in state["events"] if e["sequence"] > floor]


def _publish(context: df.DurableOrchestrationContext, state: dict[str, Any]) -> None:
    context.set_custom_status({"owner": state["owner"], "pending": [e["id"] for e in state["events"]],
                               "delivered": state["progress"], "failing": state.get("failing") or {},
                               "undelivered": state["undelivered"]})
