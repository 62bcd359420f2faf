"""Pipelines, pipeline versions and step versions, with statuses that are functions of clock time.

abacus-pipelines.md §3 and the simulator checklist item 4. A version is PENDING for its pipeline's
`pending_seconds`, then its steps run in dependency order (a step starts when all the steps it depends
on are COMPLETE); the version is RUNNING until every step has ended, then COMPLETE, or FAILED when a step
failed. Each step version's status is a `Timeline` (PENDING until it starts, RUNNING while it runs, then
its final status) anchored at the version's creation, so nothing moves by itself: a VirtualClock drives it.

Rules where the reference is silent ([U]):
- A step whose dependency FAILED (or was skipped) never runs: it ends with the "skipped" status at the
  moment that dependency ended. Steps that do not depend on the failure still run to their end; the
  version ends when every step has ended.
- skipPendingPipelineVersionSteps (§2: "Skips pending steps") moves every step that has not started to the
  skipped status at once; RUNNING steps run on to their own end. The version then ends when its running
  steps end: FAILED if one failed, otherwise the skipped status (not COMPLETE: the pipeline did not do all
  its work), or COMPLETE when there was nothing left to skip. Skipping a finished version changes nothing.
  The status string is configurable (default `SKIPPED`, the reference's example) and the same on the
  version and its steps (checklist item 4: one vocabulary).
- resetPipelineVersion re-runs the named steps (plus their downstream steps by default) of a *finished*
  version in place: the same step version ids, a new PENDING phase, then the same behaviour as before.
- A version's `completedAt` is set once it is terminal; `updatedAt` is its latest transition.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulators.abacus.catalog import Output, StepSpec
from simulators.lifecycle import StatusPin, Timeline, pinned_or

PENDING = "PENDING"
RUNNING = "RUNNING"
COMPLETE = "COMPLETE"
FAILED = "FAILED"
DEFAULT_SKIPPED = "SKIPPED"
ACTIVE = frozenset({PENDING, RUNNING})
"""The SDK's wait states (§3 `wait_for_pipeline`): every other status counts as terminal."""


@dataclass
class Step:
    """A pipeline's step definition (the PipelineStep object) and its behaviour."""

    step_id: str
    function_id: str
    spec: StepSpec
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class Pipeline:
    """A pipeline: declared variables, steps in run order, and its versions (oldest first)."""

    pipeline_id: str
    name: str
    project_id: str | None
    created_at: datetime
    variables: list[dict[str, Any]]
    steps: list[Step]
    pending_seconds: float
    cron: str | None = None
    is_prod: bool = False
    created_by: str = "sim-user@example.com"
    versions: list[Version] = field(default_factory=list)

    def step_named(self, name: str) -> Step | None:
        return next((step for step in self.steps if step.name == name), None)


@dataclass
class StepVersion:
    """One step's run inside a version: a Timeline anchored at `base` (its createdAt)."""

    step_version_id: str
    step: Step
    base: datetime
    timeline: Timeline
    error: str | None = None
    skipped_by_request: bool = False

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def final(self) -> str:
        return self.timeline.final

    @property
    def ended_at(self) -> datetime:
        return self.base + timedelta(seconds=self.timeline.total)

    def status(self, now: datetime) -> str:
        return self.timeline.status_at(now - self.base)

    def started_at(self) -> datetime | None:
        """When it begins RUNNING (None: it never runs)."""
        return self.timeline.entered_at(RUNNING, self.base)

    def updated_at(self, now: datetime) -> datetime:
        moments = [self.base, self.started_at(), self.ended_at]
        return max(moment for moment in moments if moment is not None and moment <= now)

    def error_at(self, now: datetime) -> str | None:
        return self.error if self.status(now) == FAILED else None

    def output_errors_at(self, now: datetime) -> str | None:
        return self.step.spec.output_errors if self.status(now) == FAILED else None

    def skip(self, now: datetime, skipped: str) -> bool:
        """End a step that has not started yet with the skipped status, now; False if it has started."""
        if self.status(now) != PENDING:
            return False
        self.timeline = Timeline(((PENDING, (now - self.base).total_seconds()),), skipped)
        self.error = None
        self.skipped_by_request = True
        return True


@dataclass
class Version:
    """A pipeline version: effective variable mappings, step versions, and its lifecycle anchors."""

    version_id: str
    seq: int
    pipeline: Pipeline
    created_at: datetime
    mappings: list[dict[str, Any]]
    step_versions: list[StepVersion]
    run_start: datetime
    skipped_status: str = DEFAULT_SKIPPED
    skipped_at: datetime | None = None
    reset_at: datetime | None = None
    pin: StatusPin | None = None

    def terminal_at(self) -> datetime:
        """When the last step ends (the version's completedAt once reached)."""
        if not self.step_versions:
            return min(self.run_start, self.skipped_at or self.run_start)
        return max(step.ended_at for step in self.step_versions)

    def final_status(self) -> str:
        finals = [step.final for step in self.step_versions]
        if FAILED in finals:
            return FAILED
        if any(step.skipped_by_request for step in self.step_versions) or (
            self.skipped_at is not None and not self.step_versions
        ):
            return self.skipped_status
        return COMPLETE

    def lifecycle_status(self, now: datetime) -> str:
        """The status from the steps alone, ignoring a pinned status."""
        if now >= self.terminal_at():
            return self.final_status()
        return PENDING if now < self.run_start else RUNNING

    def status(self, now: datetime) -> str:
        """The status describePipelineVersion reports (a pinned status wins while it holds)."""
        return pinned_or(self.pin, now, self.lifecycle_status(now))

    def is_active(self, now: datetime) -> bool:
        return self.status(now) in ACTIVE

    def completed_at(self, now: datetime) -> datetime | None:
        end = self.terminal_at()
        return end if now >= end else None

    def updated_at(self, now: datetime) -> datetime:
        moments = [self.created_at, self.run_start, self.skipped_at, self.reset_at]
        moments += [step.updated_at(now) for step in self.step_versions]
        return max(moment for moment in moments if moment is not None and moment <= now)

    def error(self, now: datetime) -> str | None:
        """The version's error once FAILED: the first failed step's (§3: "error, if the status is FAILED")."""
        if self.lifecycle_status(now) != FAILED:
            return None
        failed = sorted((s for s in self.step_versions if s.final == FAILED), key=lambda s: s.ended_at)
        return f"Pipeline step {failed[0].name} failed: {failed[0].error}" if failed else None

    def skip_pending(self, now: datetime) -> int:
        """skipPendingPipelineVersionSteps: skip every step not yet started; how many were skipped."""
        if self.lifecycle_status(now) not in ACTIVE:
            return 0
        skipped = sum(step.skip(now, self.skipped_status) for step in self.step_versions)
        self.skipped_at = now
        return skipped

    def value_of(self, variable: str) -> Any:
        return next((m.get("value") for m in self.mappings if m.get("name") == variable), None)


def plan_steps(
    steps: list[Step],
    base: datetime,
    start: datetime,
    skipped: str,
    new_id: Callable[[], str],
    keep: dict[str, StepVersion] | None = None,
) -> list[StepVersion]:
    """Step versions for `steps` (in run order), created at `base`, the first starting at `start`.

    Steps named in `keep` keep their existing step version (resetPipelineVersion re-plans the others).
    """
    keep = keep or {}
    planned: dict[str, StepVersion] = {}
    for step in steps:
        if step.name in keep:
            planned[step.name] = keep[step.name]
            continue
        deps = [planned[name] for name in step.spec.depends_on if name in planned]
        ready = max([start] + [dep.ended_at for dep in deps])
        wait = (ready - base).total_seconds()
        if any(dep.final != COMPLETE for dep in deps):
            timeline, error = Timeline(((PENDING, wait),), skipped), None
        else:
            seconds, fails, error = step.spec.outcome()
            timeline = Timeline(((PENDING, wait), (RUNNING, seconds)), FAILED if fails else COMPLETE)
        planned[step.name] = StepVersion(new_id(), step, base, timeline, error)
    return [planned[step.name] for step in steps]


def downstream(steps: list[Step], names: set[str]) -> set[str]:
    """`names` plus every step that depends on one of them, directly or not."""
    found = set(names)
    for step in steps:  # run order: a dependency comes before its dependents
        if found & set(step.spec.depends_on):
            found.add(step.name)
    return found


def output_value(output: Output, version_id: str) -> Any:
    """What a COMPLETE step sets an output to: the scripted value, or one made up from its type."""
    if output.value is not None:
        return output.value
    digest = hashlib.sha256(f"{version_id}:{output.name}".encode()).hexdigest()
    made_up: dict[str, Any] = {
        "INTEGER": int(digest[:4], 16),
        "FLOAT": round(int(digest[:4], 16) / 0xFFFF, 4),
        "BOOLEAN": True,
        "STRING": f"{output.name}-{version_id}",
        "JSON": {"name": output.name, "pipelineVersion": version_id},
        "LIST": [output.name],
        "ATTACHMENT": f"{output.name}.txt",
        "ANY": None,
    }
    return made_up.get(output.variable_type, digest[:10])  # the id types: a fresh Abacus-looking id
