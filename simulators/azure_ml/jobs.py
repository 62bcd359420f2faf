"""One simulated Azure ML job: stored properties plus a status that is a function of clock time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from simulators.azure_ml.catalog import Behaviour
from simulators.lifecycle import StatusPin, pinned_or

TERMINAL = frozenset({"Completed", "Failed", "Canceled"})
"""Statuses after which a job never changes by itself (the SDK also stops at NotResponding and
Paused, azureml-jobs.md §5, but those can go back to earlier states, §2.5)."""


@dataclass
class Job:
    """A job in the workspace.

    `properties` is what the PUT stored (normalised): what GET shows, minus the server-computed
    `status`, `services` and output uris; its immutable part judges a later PUT of the same name
    (azureml-jobs.md §1.3). `seq` orders jobs by creation for listing. `pin` pins a status
    (until a time, or for good) to inject NotResponding, Paused or Unknown (§2.5).
    """

    name: str
    seq: int
    created_at: datetime
    properties: dict[str, Any]
    behaviour: Behaviour
    created_by: str = "sim-user"
    modified_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    canceled_at: datetime | None = None
    pin: StatusPin | None = None

    def lifecycle_status(self, now: datetime) -> str:
        """The status from the timeline and any cancel, ignoring a status override."""
        if self.cancel_requested_at is not None and self.canceled_at is not None:
            return "Canceled" if now >= self.canceled_at else "CancelRequested"
        return self.behaviour.timeline.status_at(now - self.created_at)

    def status(self, now: datetime) -> str:
        """The status GET reports at `now` (an active pin wins)."""
        return pinned_or(self.pin, now, self.lifecycle_status(now))

    def request_cancel(self, now: datetime, delay: timedelta) -> bool:
        """Move an active job to CancelRequested, Canceled after `delay`; False if already terminal."""
        if self.lifecycle_status(now) in TERMINAL:
            return False
        if self.cancel_requested_at is None:
            self.cancel_requested_at = now
            self.canceled_at = now + delay
        return True

    def started_at(self, now: datetime) -> datetime | None:
        """When the job began Running, if it has (RunHistory startTimeUtc)."""
        running = self.behaviour.timeline.entered_at("Running", self.created_at)
        if running is None or running > now:
            return None
        if self.cancel_requested_at is not None and self.cancel_requested_at <= running:
            return None
        return running

    def ended_at(self, now: datetime) -> datetime | None:
        """When the job reached its terminal status, if it has (RunHistory endTimeUtc)."""
        status = self.lifecycle_status(now)
        if status not in TERMINAL:
            return None
        if status == "Canceled":
            return self.canceled_at
        return self.created_at + timedelta(seconds=self.behaviour.timeline.total)

    def error(self, now: datetime) -> str | None:
        """The failure message once the job is Failed (RunHistory error.error.message)."""
        return self.behaviour.error if self.lifecycle_status(now) == "Failed" else None
