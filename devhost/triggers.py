"""Queue and timer triggers: deliver messages and schedule ticks the way the Functions host does.

Queue: batches of visible messages; success deletes, failure makes the message visible again after
`visibilityTimeout`, and after `maxDequeueCount` failures it moves to `<queue>-poison` (host.json
`extensions.queues`, durable-functions.md §5). Timer: NCRONTAB schedules on the host clock; with a
virtual clock, ticks fire as time passes but never move time on their own.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import azure.functions as func
from azure.functions.queue import QueueMessage

from .app_loader import FunctionInfo, LoadedApp
from .cron import Schedule
from .queues import EmbeddedQueues, QueueItem

log = logging.getLogger("devhost.triggers")


class OutBinding(func.Out):
    """A `func.Out` that remembers what the function set."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, val: Any) -> None:
        self.value = val

    def get(self) -> Any:
        return self.value


def timespan_seconds(text: str | None, default: float) -> float:
    """Seconds in a .NET TimeSpan text such as `00:00:30` or `1.00:00:00`."""
    if not text:
        return default
    days = 0
    if "." in text.split(":")[0]:
        day_text, text = text.split(".", 1)
        days = int(day_text)
    parts = [float(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return days * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


class TriggerRunner:
    """Feeds an app's queue and timer triggers; `invoke` calls any non-HTTP function once."""

    def __init__(self, app: LoadedApp, queues: EmbeddedQueues, now: Callable[[], datetime],
                 submit: Callable[[Callable[[], None]], None],
                 call: Callable[[FunctionInfo, dict[str, Any]], Any]) -> None:
        self.app = app
        self.queues = queues
        self._now = now
        self._submit = submit
        self._call = call
        settings = app.host_json.get("extensions", {}).get("queues", {}) or {}
        self.batch_size = int(settings.get("batchSize", 16))
        self.max_dequeue = int(settings.get("maxDequeueCount", 5))
        self.retry_delay = timespan_seconds(settings.get("visibilityTimeout"), 0.0)
        self._lease_seconds = 600.0
        self._inflight: dict[str, int] = {}
        self._lock = threading.Lock()
        start = now()
        self._next_tick = {f.name: Schedule(f.trigger["schedule"]).next_after(start) for f in app.timer_triggers}

    @property
    def queue_names(self) -> list[str]:
        return [f.trigger["queueName"] for f in self.app.queue_triggers]

    def busy(self) -> bool:
        with self._lock:
            return any(self._inflight.values())

    def poll(self) -> bool:
        """Start whatever is due now; True when something was started."""
        started = False
        now = self._now()
        for function in self.app.queue_triggers:
            with self._lock:
                room = self.batch_size - self._inflight.get(function.name, 0)
            if room <= 0:
                continue
            for item in self.queues.receive(function.trigger["queueName"], now, room, self._lease_seconds):
                started = True
                self._start(function, lambda f=function, i=item: self._deliver(f, i))
        for function in self.app.timer_triggers:
            due = self._next_tick[function.name]
            if due <= now:
                self._next_tick[function.name] = Schedule(function.trigger["schedule"]).next_after(now)
                past_due = now - due > timedelta(minutes=1)
                started = True
                self._start(function, lambda f=function, p=past_due: self._call(
                    f, {f.trigger["name"]: func.TimerRequest(past_due=p)}))
        return started

    def next_due(self) -> str | None:
        return self.queues.next_visible(self.queue_names)

    def invoke(self, function: FunctionInfo, text: str) -> None:
        """Run one non-HTTP function now with `text` as its trigger data (admin route, CLI)."""
        kind = function.trigger_type
        if kind == "queueTrigger":
            message = QueueMessage(id=str(uuid.uuid4()), body=text.encode(), dequeue_count=1)
            self._call_with_outputs(function, {function.trigger["name"]: message})
        elif kind == "timerTrigger":
            self._call(function, {function.trigger["name"]: func.TimerRequest(past_due=False)})
        else:
            raise ValueError(f"function {function.name} has a {kind}; only queue and timer functions run this way")

    def _start(self, function: FunctionInfo, job: Callable[[], None]) -> None:
        with self._lock:
            self._inflight[function.name] = self._inflight.get(function.name, 0) + 1

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("trigger function %s failed", function.name)
            finally:
                with self._lock:
                    self._inflight[function.name] -= 1

        self._submit(run)

    def _deliver(self, function: FunctionInfo, item: QueueItem) -> None:
        message = QueueMessage(id=item.id, body=item.body.encode(), dequeue_count=item.dequeue_count,
                                    insertion_time=None)
        try:
            self._call_with_outputs(function, {function.trigger["name"]: message})
        except Exception:
            log.warning("queue function %s failed on message %s (dequeue count %d)", function.name, item.id,
                        item.dequeue_count, exc_info=True)
            if item.dequeue_count >= self.max_dequeue:
                self.queues.move_to_poison(item, self._now())
            else:
                self.queues.release(item.id, self._now(), self.retry_delay)
            return
        self.queues.delete(item.id)

    def _call_with_outputs(self, function: FunctionInfo, kwargs: dict[str, Any]) -> None:
        outputs = {b["name"]: (b, OutBinding()) for b in function.bindings
                   if b["type"] == "queue" and str(b.get("direction", "")).upper() == "OUT"}
        kwargs.update({name: out for name, (_, out) in outputs.items()})
        self._call(function, kwargs)
        for binding, out in outputs.values():
            values = out.value if isinstance(out.value, list) else [out.value]
            for value in values:
                if value is not None:
                    self.queues.send(binding["queueName"], value if isinstance(value, str) else str(value), self._now())
