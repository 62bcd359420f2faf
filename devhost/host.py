"""DevHost: runs a Durable Functions 1.x Python app locally, with no Azure and no Core Tools.

One dispatcher thread runs orchestration episodes (serialized per instance) and moves the clock;
activities run on a bounded pool; everything durable goes through the SQLite `Store`, so a killed
host resumes every instance where its log left it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from devkit.clock import Clock, RealClock, VirtualClock

from . import invoke, sdk_speedups
from .app_loader import FunctionInfo, LoadedApp, load_app
from .crash_points import CrashPoints, armed_points
from .entities import EntityState, run_operations, scheduler_id, split_scheduler_id
from .entities import Result as EntityResult
from .episode import Instance, new_state, run_episode
from .history import EventType, event, execution_started, format_time, parse_time
from .queues import QueueSource, open_queue_source, storage_setting
from .store import TERMINAL, InstanceExists, InstanceRow, StaleEpisode, Store, WorkItem
from .triggers import TriggerRunner

log = logging.getLogger("devhost")

# What the status API calls each stored status (durable-functions.md §2.4).
RUNNING_LIKE = ("Pending", "Running", "Suspended")


class InstanceNotFound(LookupError):
    """No instance has this id."""


class InstanceGone(Exception):
    """The instance has ended, so it takes no more events or commands (HTTP 410)."""


FROM_SETTINGS: Any = object()  # DevHost(storage=...) default: read the AzureWebJobsStorage setting


class DevHost:
    """The embedded host. `start()` it, use the client API or HTTP, `stop()` it.

    `storage` is what the `AzureWebJobsStorage` setting would say: None keeps queue triggers on the
    embedded queue; `UseDevelopmentStorage=true` or a connection string reads them from Azure Storage
    (Azurite). By default the setting is read from the environment. Instances and history stay in SQLite
    either way.
    """

    def __init__(self, app_dir: str | Path | None = None, *, db_path: str | None = None,
                 clock: Clock | None = None, activity_workers: int | None = None, strict: bool = True,
                 app: LoadedApp | None = None, storage: str | None = FROM_SETTINGS) -> None:
        self.app = app or load_app(app_dir or Path(__file__).resolve().parent.parent, strict=strict)
        if db_path is None:
            db_path = os.path.join(tempfile.mkdtemp(prefix="devhost-"), "devhost.sqlite")
        self.db_path = db_path
        self.clock: Clock = clock or RealClock()
        self.task_hub = str(self.app.durable_setting("hubName", "DevHostHub"))
        self.default_version: str | None = self.app.durable_setting("defaultVersion", None)
        workers = activity_workers or int(self.app.durable_setting("maxConcurrentActivityFunctions", 8))
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="devhost-activity")
        self.store = Store(db_path)
        self.loop = invoke.EventLoopThread()
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._held = threading.Event()
        self._inflight: set[int] = set()
        self._busy = 0
        self._changes = 0  # episodes started + activities finished: lets _idle see that it raced them
        self._dispatcher: threading.Thread | None = None
        self.episodes = 0
        self.crash_points = CrashPoints(armed_points())
        sdk_speedups.install()
        self.activity_runs = 0
        self._resume_clock()
        self.storage = storage_setting() if storage is FROM_SETTINGS else (storage or None)
        self.queues: QueueSource = open_queue_source(self.store, self.storage, self.app.host_json)
        self.triggers = TriggerRunner(self.app, self.queues, self.clock.now, self._pool.submit, self.call_function)
        self.client_binding: Callable[[], str] | None = None  # set by the HTTP front door

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> DevHost:
        """Start dispatching; activity work left by a killed host is run again (at-least-once)."""
        for item in self.store.pending_work():
            self._submit_activity(item)
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="devhost-dispatcher", daemon=True)
        self._dispatcher.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._notify()
        if self._dispatcher:
            self._dispatcher.join(5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._close_sdk_session()
        self.loop.stop()
        self.queues.close()
        self.store.close()

    def _close_sdk_session(self) -> None:
        """Close the Durable SDK's shared aiohttp session: it lives on this host's loop, which is ending
        (durable-functions.md §4: the session breaks across event loops)."""
        from azure.durable_functions.models.utils import http_utils

        try:
            self.loop.run(http_utils._close_session(), timeout=5)
        except Exception:
            log.debug("could not close the SDK's HTTP session", exc_info=True)
        finally:
            http_utils._client_session = None

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _resume_clock(self) -> None:
        # A virtual clock restarts where the log left it, so timers keep their meaning after a crash.
        if isinstance(self.clock, VirtualClock):
            latest = self.store.get_meta("virtual_now")
            if latest:
                self.clock.advance_to(parse_time(latest))

    # ---- client API (what the management HTTP API calls) ------------------------------------
    def start_new(self, name: str, instance_id: str, input_token: Any = None, version: str | None = None) -> str:
        """Start orchestrator `name` as `instance_id`; raise InstanceExists if it is still running.

        `version` defaults to host.json's durableTask.defaultVersion, as in the extension."""
        if name not in self.app.orchestrators:
            raise LookupError(f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function.")
        self.store.create_instance(instance_id, name, input_token, self.clock.now(), version or self.default_version)
        self._notify()
        return instance_id

    # Commands are atomic with respect to episodes: an event is a message the next episode takes; a
    # terminate, suspend or resume changes the instance in one transaction, and an episode that read the
    # instance before it fails its commit re-check (Store.commit_episode) and leaves its messages behind.
    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        now = self.clock.now()
        found = self.store.post_event(instance_id, event(EventType.EventRaised, now, Name=name,
                                                         Input=json.dumps(data)), now)
        _check_found(instance_id, found)
        self._notify()

    def terminate(self, instance_id: str, reason: str | None = None) -> None:
        inst = self._require(instance_id)
        if inst.status in TERMINAL:
            raise InstanceGone(instance_id)
        ended = self.store.terminate(instance_id, reason or "", self.clock.now())
        if ended and ended.parent_id:
            self._notify_parent(ended, "Failed", f"Sub-orchestration terminated: {reason}")
        self._notify()

    def suspend(self, instance_id: str, reason: str | None = None) -> None:
        found = self.store.change_status(instance_id, "Suspended", self.clock.now(), only_from=("Pending", "Running"))
        _check_found(instance_id, found)

    def resume(self, instance_id: str, reason: str | None = None) -> None:
        found = self.store.change_status(instance_id, "Running", self.clock.now(), only_from=("Suspended",))
        _check_found(instance_id, found)
        self._notify()

    def get(self, instance_id: str) -> InstanceRow | None:
        return self.store.get(instance_id)

    def rewind(self, instance_id: str, reason: str | None = None) -> None:
        """Run a Failed instance's failed activities again (Store.rewind); 404 unknown, 410 not Failed,
        ValueError for what devhost does not rewind."""
        try:
            items = self.store.rewind(instance_id, reason or "", self.clock.now())
        except LookupError as exc:
            _check_found(instance_id, exc.args[0])  # unknown: 404; Completed, Terminated: 410
            return  # Pending, Running or Suspended: nothing to rewind (the extension answers 202 too)
        for item in items:
            self._submit_activity(item)
        self._notify()

    def signal_entity(self, name: str, key: str, operation: str, input_text: str | None = None) -> None:
        """Queue an operation on entity `name` (any case) / `key` with no response, as a client signal."""
        self.store.post_entity_op(scheduler_id(name, key), operation, input_text, self.clock.now())
        self._notify()

    def read_entity(self, name: str, key: str) -> EntityState:
        """The entity's state as last committed (exists False before its first operation or once deleted)."""
        return self.store.entity(scheduler_id(name, key))

    def _require(self, instance_id: str) -> InstanceRow:
        inst = self.store.get(instance_id)
        if inst is None:
            raise InstanceNotFound(instance_id)
        return inst

    # ---- functions other than orchestrators --------------------------------------------------
    def call_function(self, function: FunctionInfo, kwargs: dict[str, Any]) -> Any:
        """Call an HTTP, queue or timer function, supplying its durable client binding."""
        for binding in function.bindings:
            if binding["type"] == "durableClient":
                if self.client_binding is None:
                    raise RuntimeError(f"{function.name} needs a durable client: serve the host over HTTP")
                kwargs[binding["name"]] = self.client_binding()
        return invoke.call(function, kwargs, self.loop, str(self.app.folder))

    def invoke_trigger(self, function: FunctionInfo, text: str) -> None:
        """Run a queue or timer function once with `text` as its trigger data."""
        self.triggers.invoke(function, text)
        self._notify()

    def enqueue(self, queue: str, body: str) -> str:
        """Put a message on a queue of the host's source, as a producer would; return its id."""
        message_id = self.queues.send(queue, body, self.clock.now())
        self.wake_queue(queue)
        return message_id

    def wake_queue(self, queue: str) -> None:
        """A message was added to `queue` from outside the host: look for it now."""
        self.triggers.wake(queue)
        self._notify()

    # ---- waiting (tests, CLI) ----------------------------------------------------------------
    def wait_for(self, instance_id: str, timeout: float = 60.0) -> InstanceRow:
        """Block until the instance ends (real seconds); return its final row."""
        deadline = time.monotonic() + timeout
        while True:
            inst = self.store.get(instance_id)
            if inst is not None and inst.status in TERMINAL:
                return inst
            if time.monotonic() > deadline:
                raise TimeoutError(f"instance {instance_id} still {inst.status if inst else 'missing'} "
                                   f"after {timeout}s")
            with self._wake:
                self._wake.wait(0.02)

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Block until nothing can run now: no visible message, no activity in flight."""
        deadline = time.monotonic() + timeout
        while not self._idle():
            if time.monotonic() > deadline:
                raise TimeoutError("devhost did not become idle")
            with self._wake:
                self._wake.wait(0.02)

    def hold(self, held: bool = True) -> None:
        """Stop (or restart) running episodes and triggers; starts, events and HTTP calls still land.

        Lets a test put several messages in an instance's inbox before its next episode, e.g. a cancel
        raised before the first episode runs.
        """
        if held:
            self._held.set()
        else:
            self._held.clear()
            self._notify()

    def set_time_limit(self, limit: datetime | None) -> None:
        """With a virtual clock: let automatic time jumps go up to `limit` (None: no limit)."""
        if isinstance(self.clock, VirtualClock):
            self.clock.limit = limit
            self._notify()

    def _idle(self) -> bool:
        """Nothing can run now (no timer function's tick passed unstarted either); with a virtual clock,
        also no timer that time may still jump to.

        The checks read state other threads change, so they count only if no episode started and no
        activity finished meanwhile (`_changes`): else a message taken by an episode between the two reads
        looks like no message at all.
        """
        changes = self._changes
        if self._inflight or self._busy or self.triggers.busy():
            return False
        if self.triggers.timer_due() and not self._held.is_set():  # the dispatcher starts it next
            return False
        due = self._next_due()
        if self._inflight or self._busy or self.triggers.busy() or self._changes != changes:
            return False
        if due is None:
            return True
        horizon = self.clock.now()
        if isinstance(self.clock, VirtualClock):
            horizon = self.clock.limit or parse_time("9999-12-31T00:00:00Z")
        return parse_time(due) > horizon

    def _next_due(self) -> str | None:
        return min(filter(None, [self.store.next_due(), self.triggers.next_due()]), default=None)

    def _notify(self) -> None:
        with self._wake:
            self._wake.notify_all()

    # ---- dispatcher --------------------------------------------------------------------------
    def _dispatch_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                ran = self._run_ready()
            except Exception:  # never let one bad instance stop the host
                log.exception("devhost dispatcher error")
                ran = False
            if ran:
                continue
            self._wait_for_work()

    def _run_ready(self) -> bool:
        if self._held.is_set():
            return False
        started = self.triggers.poll()
        entities_ran = self._run_entities()
        ready = self.store.ready_instances(self.clock.now(), set())
        for instance_id in ready:
            if self._stopping.is_set():
                break
            self._busy += 1
            self._changes += 1
            try:
                self._run_episode(instance_id)
            except Exception as exc:
                log.exception("episode of %s failed inside devhost", instance_id)
                self._fail_internal(instance_id, exc)
            finally:
                self._busy -= 1
        if ready or entities_ran:
            self._notify()
        return bool(ready) or started or entities_ran

    def _run_entities(self) -> bool:
        """Run one batch for each entity with queued operations (on this thread: serialized per entity)."""
        ready = self.store.ready_entities(self.clock.now())
        for entity_id in ready:
            self._busy += 1
            self._changes += 1
            try:
                self._run_entity_batch(entity_id)
            except Exception:
                log.exception("entity %s: batch failed inside devhost", entity_id)
            finally:
                self._busy -= 1
        return bool(ready)

    def _run_entity_batch(self, entity_id: str) -> None:
        now = self.clock.now()
        operations = self.store.take_entity_ops(entity_id, now)
        if not operations:
            return
        name, key = split_scheduler_id(entity_id)
        function = self.app.entities.get(name)
        before = self.store.entity(entity_id)
        if function is None:
            missing = f"The function '{name}' doesn't exist, is disabled, or is not an entity function."
            log.warning("entity %s: %s", entity_id, missing)
            after, results = before, [EntityResult(op, True, json.dumps(missing)) for op in operations]
        else:
            def invoke(text: str, function: FunctionInfo = function) -> str:
                # With its bindings, as the host calls it: an entity may also declare a durable client.
                return self.call_function(function, {function.trigger["name"]: text})

            after, results = run_operations(invoke, name, key, before, operations)
        responses = [(r.operation.parent_id, r.operation.parent_execution_id,
                      event(EventType.EventRaised, now, Name=r.operation.request_id, Input=r.response()))
                     for r in results if r.operation.request_id and r.operation.parent_id]
        self.store.commit_entity_batch(entity_id, name, key, [op.id for op in operations], after, responses, now)

    def _wait_for_work(self) -> None:
        now = self.clock.now()
        if isinstance(self.clock, VirtualClock):
            # Busy first, then the next due time: work in flight (an activity, a queue function) posts its
            # messages before it stops counting as busy, so a due time read after an idle check includes
            # them; read before, it could miss an instance just started and let time jump past it.
            if not self._inflight and not self.triggers.busy() and not self._held.is_set():
                due_text = self._next_due()
                if due_text and self.clock.advance_to(parse_time(due_text)) > now:
                    self.store.set_meta("virtual_now", format_time(self.clock.now()))
                    return
            with self._wake:
                self._wake.wait(0.05)
            return
        due_text = self._next_due()
        wait = 0.5
        if due_text:
            scale = getattr(self.clock, "scale", 1.0)
            wait = max(0.0, min(wait, (parse_time(due_text) - now).total_seconds() / scale))
        next_poll = self.triggers.seconds_to_next_poll()
        if next_poll is not None:
            wait = min(wait, max(0.01, next_poll))
        if wait > 0:
            with self._wake:
                self._wake.wait(wait)

    def _run_episode(self, instance_id: str) -> None:
        now = self.clock.now()
        inst = self.store.get(instance_id)
        messages = self.store.take_messages(instance_id, now)
        if inst is None or inst.status in TERMINAL:
            self.store.drop_messages([m[0] for m in messages])
            return
        if inst.status == "Suspended":  # suspended after the ready list was read: its messages wait
            return
        current = [m for m in messages if m[1] in (None, inst.execution_id)]
        stale = [m[0] for m in messages if m[1] not in (None, inst.execution_id)]
        self.store.drop_messages(stale)
        if not current:
            return
        function = self.app.orchestrators.get(inst.name)
        state = inst.state or new_state(inst.execution_id)
        if function is None:
            self._fail_internal(instance_id, LookupError(f"orchestrator '{inst.name}' is not in this app"))
            return
        past = self.store.history(instance_id)
        outcome = run_episode(function.callable, Instance(inst.id, inst.name, inst.execution_id, inst.input,
                                                          inst.parent_id),
                              past, [m[2] for m in current], state, now)
        self.episodes += 1
        messages_out: list[tuple] = [
            (inst.id, inst.execution_id, event(EventType.TimerFired, fire_at, TimerId=seq,
                                               FireAt=event(EventType.TimerFired, fire_at)["Timestamp"]), fire_at)
            for seq, fire_at in outcome.timers]
        status, output, new_execution, new_input = outcome.runtime_status, outcome.output, None, None
        custom_status = outcome.custom_status
        if custom_status is None and not past:
            # A new execution that has set no status yet shows the one the last execution left, as DTFx
            # carries it over continue-as-new (TaskOrchestrationDispatcher: `Status ?? carryOverStatus`).
            custom_status = inst.custom_status
        next_state = outcome.state
        if status == "ContinuedAsNew":
            new_execution = _new_execution_id()
            started = _restart_event(inst, new_execution, outcome.continue_input, now,
                                     _version_of(past + outcome.events))
            messages_out.append((inst.id, None, started, now))
            messages_out += [(inst.id, None, ev, now) for ev in outcome.carried_events]
            next_state = new_state(new_execution)
            status, output, new_input = "Running", None, outcome.continue_input
        if status in ("Completed", "Failed") and inst.parent_id:
            messages_out.append(self._parent_message(inst, status, output, outcome.failure, now))
        if new_execution is not None:
            self.crash_points.reach("continue_as_new:before_commit", inst.id)
        try:
            work_ids = self.store.commit_episode(
                inst, [m[0] for m in current], outcome.events, status=status,
                custom_status=custom_status, output=output, state=next_state, now=now,
                new_execution_id=new_execution, new_input=new_input, messages=messages_out,
                cancelled_timers=outcome.cancelled_timers, work=outcome.activities,
                children=[(c.instance_id, c.name, c.input_text, c.task_id, c.version or self.default_version)
                          for c in outcome.children],
                drop_pending=new_execution is not None,
                entity_ops=[(m.entity_id, m.operation, m.input_text, m.request_id) for m in outcome.entity_messages])
        except StaleEpisode:
            log.debug("episode of %s dropped: the instance changed while it ran", inst.id)
            return
        if new_execution is not None:
            self.crash_points.reach("continue_as_new:after_commit", inst.id)
        for work_id, (task_id, name, input_text) in zip(work_ids, outcome.activities, strict=True):
            self._submit_activity(WorkItem(work_id, inst.id, inst.execution_id, task_id, name, input_text))

    def _parent_message(self, child: InstanceRow, status: str, output: Any,
                        failure: tuple[str, str] | None, now: datetime) -> tuple:
        if status == "Completed":
            ev = event(EventType.SubOrchestrationInstanceCompleted, now, TaskScheduledId=child.parent_task_id,
                       Result=json.dumps(output))
        else:
            reason, details = failure or (str(output), str(output))
            ev = event(EventType.SubOrchestrationInstanceFailed, now, TaskScheduledId=child.parent_task_id,
                       Reason=reason, Details=details)
        return (child.parent_id, child.parent_execution_id, ev, now)

    def _notify_parent(self, child: InstanceRow, status: str, reason: str) -> None:
        _, execution_id, ev, now = self._parent_message(child, status, reason, (reason, reason), self.clock.now())
        self.store.post(child.parent_id or "", execution_id, ev, now)

    def _fail_internal(self, instance_id: str, exc: BaseException) -> None:
        inst = self.store.get(instance_id)
        if inst is None or inst.status in TERMINAL:
            return
        now = self.clock.now()
        message = f"Orchestrator function '{inst.name}' failed: devhost could not run it: {exc}"
        messages = self.store.take_messages(instance_id, now)
        extra = [self._parent_message(inst, "Failed", message, (message, message), now)] if inst.parent_id else []
        try:
            self.store.commit_episode(
                inst, [m[0] for m in messages],
                [event(EventType.ExecutionCompleted, now, OrchestrationStatus=3, Result=message,
                       FailureDetails=None)],
                status="Failed", custom_status=inst.custom_status, output=message, state=inst.state, now=now,
                messages=extra)
        except StaleEpisode:
            log.debug("%s changed while devhost failed it; the change stands", instance_id)

    # ---- activities --------------------------------------------------------------------------
    def _submit_activity(self, item: WorkItem) -> None:
        with self._wake:
            if item.id in self._inflight:
                return
            self._inflight.add(item.id)
        self._pool.submit(self._run_activity, item)

    def _run_activity(self, item: WorkItem) -> None:
        try:
            function = self.app.activities.get(item.name)
            if function is None:
                raise LookupError(f"The function '{item.name}' doesn't exist, is disabled, or is not an "
                                  "activity function.")
            clients = {b["name"]: self.client_binding() for b in function.bindings
                       if b["type"] == "durableClient" and self.client_binding is not None}
            result = invoke.call_activity(function, item.input, self.loop, str(self.app.folder), clients)
            outcome = event(EventType.TaskCompleted, self.clock.now(), TaskScheduledId=item.task_id, Result=result)
        except Exception as exc:
            if self._stopping.is_set():
                return
            # Reason/Details as TaskActivityShim writes them (durable-functions.md §1.3).
            outcome = event(EventType.TaskFailed, self.clock.now(), TaskScheduledId=item.task_id,
                            Reason=f"Activity function '{item.name}' failed: {exc}",
                            Details="".join(traceback.format_exception_only(type(exc), exc)).strip())
        finally:
            self.activity_runs += 1
        self.crash_points.reach(f"activity_done:{item.name}", item.instance_id)
        try:
            if not self._stopping.is_set():
                self.store.finish_work(item, outcome, self.clock.now())
        finally:
            with self._wake:
                self._changes += 1
                self._inflight.discard(item.id)
                self._wake.notify_all()


def _check_found(instance_id: str, status: str | None) -> None:
    """Raise what the management API answers 404 / 410 for, from the status a command found."""
    if status is None:
        raise InstanceNotFound(instance_id)
    if status in TERMINAL:
        raise InstanceGone(instance_id)


def _new_execution_id() -> str:
    return uuid.uuid4().hex


def _restart_event(inst: InstanceRow, execution_id: str, input_text: Any, now: datetime,
                   version: str | None) -> dict[str, Any]:
    parent = None
    if inst.parent_id:
        parent = {"Name": None, "Version": None, "TaskScheduleId": inst.parent_task_id,
                  "OrchestrationInstance": {"InstanceId": inst.parent_id, "ExecutionId": inst.parent_execution_id}}
    return execution_started(now, inst.name, json.dumps(input_text), inst.id, execution_id, parent, version)


def _version_of(history: list[dict[str, Any]]) -> str | None:
    """The version of the execution `history` belongs to (continue_as_new keeps it, as DTFx does)."""
    started = next((e for e in history if e["EventType"] == EventType.ExecutionStarted), None)
    return started.get("Version") if started else None


__all__ = ["DevHost", "InstanceExists", "InstanceGone", "InstanceNotFound"]
