"""The workspace's Event Grid system topic: run status events pushed to one webhook subscriber.

Azure ML publishes `Microsoft.MachineLearningServices.RunStatusChanged` at every status change of a run and
`Microsoft.MachineLearningServices.RunCompleted` when one completes, in the EventGridEvent schema: `topic` is
the workspace's ARM id, `subject` is `experiments/<experimentId>/runs/<runId>`, `data` carries experimentId,
experimentName, runId, runType, runTags, runProperties and (RunStatusChanged) runStatus. Event Grid first
proves the subscriber owns the endpoint (a `Microsoft.EventGrid.SubscriptionValidationEvent` with
`aeg-event-type: SubscriptionValidation`, answered `{"validationResponse": <validationCode>}`), then POSTs
arrays of events with `aeg-event-type: Notification`, at least once: a failed delivery is tried again on a
growing schedule, then dead-lettered (counted here). Order is not guaranteed.

Job statuses are a function of the clock (simulators/lifecycle.py), so the publisher watches the clock, not the
jobs: it computes the next moment any job may change status, waits for it, compares each job's status with the
last one it published, and sends what changed. On a `VirtualClock` it holds time at that moment
(`VirtualClock.set_hold`) until the events are delivered, so a host jumping to its next timer cannot skip
them. The platform tells it when a job is created, cancelled or pinned (`AzureMLPlatform.observers`); the job
lifecycle code knows nothing of events.

Faults (options of the simulator, `-o event_drop=0.2`...): `event_drop`, `event_duplicate`, `event_delay`
(held `event_delay_seconds`), `event_reorder` (held until the next event goes out, at most
`event_delay_seconds`) are rates drawn from `event_seed`; `event_drop_after=N` sends only the first N events of
each job.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from simulators.azure_ml.catalog import WORKSPACE_ID
from simulators.azure_ml.wire import wire_time

if TYPE_CHECKING:
    from simulators.azure_ml.platform import AzureMLPlatform

log = logging.getLogger("simulators.azure_ml.events")
STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
RUN_COMPLETED = "Microsoft.MachineLearningServices.RunCompleted"
VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
RETRY_SCHEDULE = (10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0)  # seconds after each failed attempt
HOLDER = "azure_ml-events"
SETTLE_SECONDS = 0.02  # wall time a delivered event is given before a virtual clock may move on


def run_event(event_type: str, job_name: str, status: str, properties: dict[str, Any], when: datetime) -> dict:
    """One EventGridEvent of the workspace's system topic about job `job_name` (its stored properties)."""
    experiment = str(properties.get("experimentName") or "Default")
    experiment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{WORKSPACE_ID}/experiments/{experiment}"))
    data: dict[str, Any] = {
        "experimentId": experiment_id,
        "experimentName": experiment,
        "runId": job_name,
        "runType": "azureml.PipelineRun" if properties.get("jobType") == "Pipeline" else "azureml.scriptrun",
        "runTags": dict(properties.get("tags") or {}),
        "runProperties": dict(properties.get("properties") or {}),
    }
    if event_type == STATUS_CHANGED:
        data["runStatus"] = status
    return {"id": str(uuid.uuid4()), "topic": WORKSPACE_ID, "subject": f"experiments/{experiment_id}/runs/{job_name}",
            "eventType": event_type, "eventTime": wire_time(when), "data": data, "dataVersion": "2",
            "metadataVersion": "1"}


def validation_event(code: str, when: datetime) -> dict:
    """The subscription validation event Event Grid sends before any other."""
    return {"id": str(uuid.uuid4()), "topic": WORKSPACE_ID, "subject": "", "eventType": VALIDATION,
            "eventTime": wire_time(when), "data": {"validationCode": code}, "dataVersion": "2",
            "metadataVersion": "1"}


@dataclass(frozen=True)
class EventFaults:
    """What goes wrong with deliveries, by seeded rate (see the module docstring)."""

    drop: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    delay_seconds: float = 60.0
    drop_after: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "delay", "reorder"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"event_{name} must be a rate between 0 and 1")
        if self.delay_seconds < 0 or (self.drop_after is not None and self.drop_after < 0):
            raise ValueError("event_delay_seconds and event_drop_after must not be negative")


@dataclass
class _Delivery:
    due: datetime
    event: dict[str, Any]
    job: str
    attempts: int = 0
    reordered: bool = False
    seq: int = 0


@dataclass
class _JobCounts:
    published: int = 0
    counts: Counter[str] = field(default_factory=Counter)


class EventGridPublisher:
    """Pushes the platform's run status events to `webhook`, after the validation handshake."""

    def __init__(self, platform: AzureMLPlatform, webhook: str, faults: EventFaults | None = None) -> None:
        self.platform = platform
        self.clock = platform.clock
        self.webhook = webhook
        self.faults = faults or EventFaults()
        self._random = random.Random(self.faults.seed)
        self._lock = threading.RLock()
        self._poke = threading.Event()
        self._stop = threading.Event()
        self._seen: dict[str, str] = {}  # job -> last status published (or found at start)
        self._jobs: dict[str, _JobCounts] = defaultdict(_JobCounts)
        self._queue: list[_Delivery] = []
        self._seq = 0
        self.validated = False
        self.dead_lettered = 0
        self._session = requests.Session()
        self._session.trust_env = False
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-azure_ml-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._poke.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._hold(None)
        self._session.close()

    def reset(self) -> None:
        """Forget counters and pending deliveries; the jobs there are now count as already published."""
        with self._lock:
            now = self.clock.now()
            self._seen = {name: job.status(now) for name, job in self.platform.jobs.items()}
            self._jobs.clear()
            self._queue.clear()
            self.dead_lettered = 0
        self.changed()

    def changed(self) -> None:
        """A job was created, cancelled or pinned: look again (and hold a virtual clock) before time moves."""
        with self._lock:
            self._hold(self._next_wake())
        self._poke.set()

    def stats(self) -> dict[str, Any]:
        """Events sent and faults per job, for `/_sim/stats`."""
        with self._lock:
            return {"validated": self.validated, "eventsSent": sum(j.counts["sent"] for j in self._jobs.values()),
                    "eventsDeadLettered": self.dead_lettered,
                    "eventsByJob": {name: dict(j.counts) for name, j in self._jobs.items()}}

    # -- the loop ----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._poke.clear()
            with self._lock:
                self._publish_changes()
                wake = self._next_wake()
            if self._deliver_due():
                time.sleep(SETTLE_SECONDS if getattr(self.clock, "virtual", False) else 0)
                continue
            with self._lock:
                wake = self._next_wake()
                self._hold(wake)
            if wake is None:
                self._poke.wait(0.5)
            elif wake > self.clock.now():
                self.clock.wait_until(wake, self._poke)

    def _publish_changes(self) -> None:
        now = self.clock.now()
        for name, job in list(self.platform.jobs.items()):
            status = job.status(now)
            if self._seen.get(name) == status:
                continue
            self._seen[name] = status
            self._publish(run_event(STATUS_CHANGED, name, status, job.properties, now), name, now)
            if status == "Completed":
                self._publish(run_event(RUN_COMPLETED, name, status, job.properties, now), name, now)

    def _publish(self, event: dict[str, Any], job: str, now: datetime) -> None:
        counts = self._jobs[job]
        counts.published += 1
        faults, draw = self.faults, self._random.random
        if faults.drop_after is not None and counts.published > faults.drop_after:
            counts.counts["dropped"] += 1
            return
        if faults.drop and draw() < faults.drop:
            counts.counts["dropped"] += 1
            return
        copies = 2 if faults.duplicate and draw() < faults.duplicate else 1
        if copies > 1:
            counts.counts["duplicated"] += 1
        for _ in range(copies):
            due, reordered = now, False
            if faults.delay and draw() < faults.delay:
                due = now + timedelta(seconds=faults.delay_seconds)
                counts.counts["delayed"] += 1
            elif faults.reorder and draw() < faults.reorder:
                due, reordered = now + timedelta(seconds=faults.delay_seconds), True
                counts.counts["reordered"] += 1
            self._seq += 1
            self._queue.append(_Delivery(due, event, job, reordered=reordered, seq=self._seq))

    def _deliver_due(self) -> bool:
        """Send every delivery due now (a held-back one right after a later event); True if any went out."""
        with self._lock:
            now = self.clock.now()
            due = sorted((d for d in self._queue if d.due <= now), key=lambda d: d.seq)
            if not due:
                return False
            held = [d for d in self._queue if d.reordered and d.due > now]
            batch = due + held  # the held-back ones go after a later event: out of order
            self._queue = [d for d in self._queue if d not in batch]
        if not self._validate():
            with self._lock:
                for delivery in batch:
                    self._retry(delivery, now)
            return False
        for delivery in batch:
            ok = self._post([delivery.event], "Notification")
            with self._lock:
                if ok:
                    self._jobs[delivery.job].counts["sent"] += 1
                else:
                    self._retry(delivery, now)
        return True

    def _retry(self, delivery: _Delivery, now: datetime) -> None:
        if delivery.attempts >= len(RETRY_SCHEDULE):
            self.dead_lettered += 1
            self._jobs[delivery.job].counts["deadLettered"] += 1
            return
        delivery.due = now + timedelta(seconds=RETRY_SCHEDULE[delivery.attempts])
        delivery.attempts += 1
        delivery.reordered = False
        self._queue.append(delivery)

    def _validate(self) -> bool:
        if self.validated:
            return True
        code = str(uuid.uuid4()).upper()
        try:
            response = self._session.post(self.webhook, json=[validation_event(code, self.clock.now())],
                                          headers={"aeg-event-type": "SubscriptionValidation"}, timeout=10)
            answer = response.json() if response.status_code == 200 else {}
        except (requests.RequestException, ValueError):
            answer = {}
        self.validated = isinstance(answer, dict) and answer.get("validationResponse") == code
        if not self.validated:
            log.warning("Event Grid subscription to %s is not validated yet; events wait", self.webhook)
        return self.validated

    def _post(self, events: list[dict[str, Any]], kind: str) -> bool:
        try:
            response = self._session.post(self.webhook, json=events, headers={"aeg-event-type": kind}, timeout=30)
        except requests.RequestException:
            return False
        return 200 <= response.status_code < 300

    # -- time --------------------------------------------------------------------------------------

    def _next_wake(self) -> datetime | None:
        """The earliest pending delivery or moment a job may change status."""
        now = self.clock.now()
        moments = [d.due for d in self._queue]
        for job in self.platform.jobs.values():
            if job.status(now) in ("Completed", "Failed", "Canceled") and self._seen.get(job.name) == job.status(now):
                continue
            moments.extend(t for t in _change_moments(job) if t > now)
            if self._seen.get(job.name) != job.status(now):
                moments.append(now)
        return min(moments, default=None)

    def _hold(self, when: datetime | None) -> None:
        set_hold = getattr(self.clock, "set_hold", None)
        if set_hold is not None:
            set_hold(HOLDER, when)


def _change_moments(job: Any) -> list[datetime]:
    """Every moment at which the job's status may change: its phase boundaries, cancel and pin ends."""
    moments, at = [], job.created_at
    for _, seconds in job.behaviour.timeline.phases:
        at = at + timedelta(seconds=seconds)
        moments.append(at)
    moments.extend(t for t in (job.cancel_requested_at, job.canceled_at) if t is not None)
    pin = job.pin
    if pin is not None and pin.until is not None:
        moments.append(pin.until)
    return moments
