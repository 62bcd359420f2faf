"""Queue and timer triggers: deliver messages and schedule ticks the way the Functions host does.

Queue (host.json `extensions.queues`, durable-functions.md §5): batches of up to `batchSize` visible
messages, each leased while its function runs; success deletes it, failure makes it visible again after
`visibilityTimeout`, and a failure at `maxDequeueCount` moves it to `<queue>-poison`, as does receiving a
message whose dequeue count is already past it (a host died while running it). Messages come from a
`QueueSource` (devhost/queues.py): the embedded one is read on every dispatcher turn and timed by the
host clock; Azure Storage is polled on wall time with the host's back-off (100 ms after a message, then
doubling up to `maxPollingInterval`, 2 s by default as in the Functions host's Development environment),
and a message sent through devhost to a watched queue wakes its poller at once. Timer: NCRONTAB schedules
on the host clock; with a virtual clock, ticks fire as time passes but never move time on their own.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import azure.functions as func
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest

from .app_loader import FunctionInfo, LoadedApp
from .cron import Schedule
from .queues import QueueItem, QueueSource

log = logging.getLogger("devhost.triggers")
MIN_POLLING_SECONDS = 0.1  # QueuePollingIntervals.Minimum
DEV_MAX_POLLING_SECONDS = 2.0  # maxPollingInterval when host.json has none (Development environment)
LEASE_SECONDS = 600.0  # how long a received message stays hidden while its function runs (the host's 10 min)


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

    def __init__(self, app: LoadedApp, queues: QueueSource, now: Callable[[], datetime],
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
        self.max_polling = max(MIN_POLLING_SECONDS,
                               timespan_seconds(settings.get("maxPollingInterval"), DEV_MAX_POLLING_SECONDS))
        self.lease_seconds = LEASE_SECONDS
        self._inflight: dict[str, int] = {}
        self._lock = threading.Lock()
        # Remote sources: per queue, the wall time of the next receive and the current back-off.
        self._poll_at: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._woken: dict[str, int] = {}  # queue -> wake count, while a message sent through devhost waits
        self._failing: set[str] = set()
        start = now()
        self._next_tick = {f.name: Schedule(f.trigger["schedule"]).next_after(start) for f in app.timer_triggers}

    @property
    def queue_names(self) -> list[str]:
        return [f.trigger["queueName"] for f in self.app.queue_triggers]

    def busy(self) -> bool:
        """A function is running, or a message sent through devhost has not been received yet."""
        with self._lock:
            return any(self._inflight.values()) or bool(self._woken)

    def wake(self, queue: str) -> None:
        """A message was just sent to `queue`: poll it now (the Functions host's shared queue watcher)."""
        if queue in self.queue_names and self.queues.remote:
            with self._lock:
                self._poll_at[queue] = 0.0
                self._backoff[queue] = 0.0
                self._woken[queue] = self._woken.get(queue, 0) + 1

    def poll(self) -> bool:
        """Start whatever is due now; True when something was started."""
        started = False
        now = self._now()
        for function in self.app.queue_triggers:
            queue = function.trigger["queueName"]
            with self._lock:
                room = self.batch_size - self._inflight.get(function.name, 0)
            if room <= 0 or not self._poll_due(queue):
                continue
            items = self._receive(queue, now, room)
            for item in items:
                if item.undecodable:
                    # Written through the Queue service endpoint in another encoding than host.json's: the
                    # extension's MessageDecodingFailed handler moves it to poison, the function never runs.
                    log.warning("message %s on %s is not in the queue's message encoding: moved to %s-poison",
                                item.id, queue, queue)
                    self.queues.move_to_poison(item, now)
                    continue
                if item.dequeue_count > self.max_dequeue:
                    # Taken before by a host that died running it (QueueProcessor.BeginProcessingMessageAsync).
                    log.warning("message %s on %s was dequeued %d times (maxDequeueCount %d): moved to %s-poison",
                                item.id, queue, item.dequeue_count, self.max_dequeue, queue)
                    self.queues.move_to_poison(item, now)
                    continue
                started = True
                self._start(function, lambda f=function, i=item: self._deliver(f, i))
        for function in self.app.timer_triggers:
            due = self._next_tick[function.name]
            with self._lock:  # as the Functions host: a timer function never overlaps itself; a tick
                running = self._inflight.get(function.name, 0) > 0  # missed meanwhile runs after, past due
            if due <= now and not running:
                self._next_tick[function.name] = Schedule(function.trigger["schedule"]).next_after(now)
                past_due = now - due > timedelta(minutes=1)
                started = True
                self._start(function, lambda f=function, p=past_due: self._call(
                    f, {f.trigger["name"]: TimerRequest(past_due=p)}))
        return started

    def next_due(self) -> str | None:
        return self.queues.next_visible(self.queue_names)

    def timer_due(self) -> bool:
        """A timer function's tick has passed and it has not been started yet (a virtual clock moved past
        it). Ticks are not times a virtual clock jumps to: a schedule never ends, so time would never rest."""
        now = self._now()
        return any(due <= now for due in self._next_tick.values())

    def seconds_to_next_poll(self) -> float | None:
        """Wall seconds until a remote queue is polled again; None with the embedded source."""
        if not self.queues.remote or not self.queue_names:
            return None
        with self._lock:
            next_at = min((self._poll_at.get(q, 0.0) for q in self.queue_names), default=0.0)
        return max(0.0, next_at - time.monotonic())

    def _poll_due(self, queue: str) -> bool:
        if not self.queues.remote:
            return True
        with self._lock:
            return time.monotonic() >= self._poll_at.get(queue, 0.0)

    def _receive(self, queue: str, now: datetime, room: int) -> list[QueueItem]:
        with self._lock:
            wakes = self._woken.get(queue)
        try:
            items = self.queues.receive(queue, now, room, self.lease_seconds)
        except Exception as exc:
            if queue not in self._failing:
                log.warning("cannot read queue %s from %s (%s); retrying every %gs", queue, self.queues.kind,
                            exc.__class__.__name__, self.max_polling)
                self._failing.add(queue)
            self._schedule_poll(queue, self.max_polling)
            return []
        if queue in self._failing:
            log.info("queue %s can be read again", queue)
            self._failing.discard(queue)
        with self._lock:
            if wakes is not None and self._woken.get(queue) == wakes:
                del self._woken[queue]  # no message was sent since this receive began: it saw them all
            previous = self._backoff.get(queue, 0.0)
        self._schedule_poll(queue, MIN_POLLING_SECONDS if items
                            else min(self.max_polling, max(MIN_POLLING_SECONDS, previous * 2)))
        return items

    def _schedule_poll(self, queue: str, delay: float) -> None:
        if not self.queues.remote:
            return
        with self._lock:
            self._backoff[queue] = delay
            self._poll_at[queue] = min(self._poll_at.get(queue, 0.0), time.monotonic() + delay) \
                if self._woken.get(queue) else time.monotonic() + delay

    def invoke(self, function: FunctionInfo, text: str) -> None:
        """Run one non-HTTP function now with `text` as its trigger data (admin route, CLI)."""
        kind = function.trigger_type
        if kind == "queueTrigger":
            message = QueueMessage(id=str(uuid.uuid4()), body=text.encode(), dequeue_count=1)
            self._call_with_outputs(function, {function.trigger["name"]: message})
        elif kind == "timerTrigger":
            self._call(function, {function.trigger["name"]: TimerRequest(past_due=False)})
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
                               insertion_time=_parse_inserted(item.inserted), pop_receipt=item.receipt)
        try:
            self._call_with_outputs(function, {function.trigger["name"]: message})
        except Exception:
            log.warning("queue function %s failed on message %s (dequeue count %d)", function.name, item.id,
                        item.dequeue_count, exc_info=True)
            if item.dequeue_count >= self.max_dequeue:
                log.warning("message %s reached maxDequeueCount %d: moved to %s-poison", item.id,
                            self.max_dequeue, item.queue)
                self.queues.move_to_poison(item, self._now())
            else:
                self.queues.release(item, self._now(), self.retry_delay)
            return
        self.queues.delete(item)

    def _call_with_outputs(self, function: FunctionInfo, kwargs: dict[str, Any]) -> None:
        outputs = {b["name"]: (b, OutBinding()) for b in function.bindings
                   if b["type"] == "queue" and str(b.get("direction", "")).upper() == "OUT"}
        kwargs.update({name: out for name, (_, out) in outputs.items()})
        self._call(function, kwargs)
        for binding, out in outputs.values():
            values = out.value if isinstance(out.value, list) else [out.value]
            for value in values:
                if value is None:
                    continue
                text = value.decode("utf-8") if isinstance(value, bytes) else value if isinstance(value, str) \
                    else str(value)
                self.queues.send(binding["queueName"], text, self._now())
                self.wake(binding["queueName"])


def _parse_inserted(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
