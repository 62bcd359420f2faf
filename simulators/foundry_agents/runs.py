"""One simulated agent run: its status is a pure function of clock time (never a sleep).

A run is a list of `Segment`s, each a `Timeline` that starts at a moment: the first at creation,
then one per event that changes its course (tool outputs submitted, cancel requested). Its status
at `now` comes from `transitions()`, which also applies expiry: a run still queued, in progress or
waiting in requires_action at `expires_at` becomes `expired` (foundry-agents.md §2, §3 and simulator
item 5; that the rule covers queued and in_progress too is our choice, the reference only says runs
expire ten minutes after creation). `cancelling` is exempt: a cancel always ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulators.foundry_agents.wire import unix
from simulators.lifecycle import Timeline

ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
"""§3/§4: a thread with a run in one of these refuses new messages and runs."""
TERMINAL = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})
"""§3: never change again (`incomplete` is outside the spec's enum but sent by the service)."""
EXPIRING = frozenset({"queued", "in_progress", "requires_action"})
NATURAL_ENDINGS = frozenset({"completed", "failed", "incomplete"})
"""Endings a run reaches by itself; one due before a cancel completes wins the race (§3 [U])."""


@dataclass(frozen=True)
class Outcome:
    """What a segment leaves when the run ends in it: assistant messages (content lists), last_error,
    incomplete_details, and the tool calls of requires_action (`{id, type, function}`)."""

    messages: tuple[tuple[dict[str, Any], ...], ...] = ()
    last_error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    completion_tokens: int = 0


@dataclass(frozen=True)
class Segment:
    """A stretch of the run's life: `timeline` from `start`; `outcome` applies if the run ends in it."""

    start: datetime
    timeline: Timeline
    outcome: Outcome | None


@dataclass
class Run:
    """A thread run: settings fixed at create, and its course on the clock."""

    id: str
    seq: int
    thread_id: str
    assistant_id: str
    created_at: datetime
    expires_at: datetime
    settings: dict[str, Any]
    segments: list[Segment]
    prompt_tokens: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    tool_outputs: dict[str, str] = field(default_factory=dict)  # tool call id -> output submitted

    # -- course ----------------------------------------------------------------------------------------

    def transitions(self) -> list[tuple[datetime, str]]:
        """Every (moment, status) change of the run, expiry included, oldest first."""
        changes: list[tuple[datetime, str]] = []
        for index, segment in enumerate(self.segments):
            end = self.segments[index + 1].start if index + 1 < len(self.segments) else None
            at = segment.start
            steps = [(status, length) for status, length in segment.timeline.phases if length > 0]
            steps.append((segment.timeline.final, float("inf")))
            for status, length in steps:
                if end is not None and at >= end:
                    break
                if not changes or changes[-1][1] != status:
                    changes.append((at, status))
                if length == float("inf"):
                    break
                at += timedelta(seconds=length)
        current = [change for change in changes if change[0] <= self.expires_at]
        if current and current[-1][1] in EXPIRING:
            return [change for change in changes if change[0] < self.expires_at] + [(self.expires_at, "expired")]
        return changes

    def status(self, now: datetime) -> str:
        """The status at `now` (before creation: the first status)."""
        changes = self.transitions()
        status = changes[0][1]
        for at, name in changes:
            if at > now:
                break
            status = name
        return status

    def entered(self, status: str, now: datetime) -> datetime | None:
        """When the run first entered `status`, if that is at or before `now`."""
        at = next((moment for moment, name in self.transitions() if name == status), None)
        return at if at is not None and at <= now else None

    def ended_at(self) -> datetime | None:
        """When the run reaches a terminal status (possibly in the future), or None if it waits forever."""
        return next((moment for moment, name in self.transitions() if name in TERMINAL), None)

    @property
    def outcome(self) -> Outcome:
        """The outcome of the segment the run is in last (where it ends)."""
        return self.segments[-1].outcome or Outcome()

    # -- events ----------------------------------------------------------------------------------------

    def resume(self, now: datetime, timeline: Timeline, outcome: Outcome) -> None:
        """Tool outputs arrived: follow `timeline` from `now`."""
        self.segments.append(Segment(now, timeline, outcome))

    def cancel(self, now: datetime, delay: float) -> None:
        """cancelling from `now`, cancelled after `delay` seconds, unless the run ends by itself first."""
        last = self.segments[-1]
        natural_end = last.start + timedelta(seconds=last.timeline.total)
        if last.timeline.final in NATURAL_ENDINGS and now < natural_end < now + timedelta(seconds=delay):
            remaining = (natural_end - now).total_seconds()
            self.segments.append(
                Segment(now, Timeline((("cancelling", remaining),), last.timeline.final), last.outcome)
            )
        else:
            self.segments.append(Segment(now, Timeline((("cancelling", delay),), "cancelled"), None))

    # -- wire ------------------------------------------------------------------------------------------

    def to_wire(self, now: datetime) -> dict[str, Any]:
        """The ThreadRun at `now` (§2): every nullable field present; `usage` only once terminal."""
        status = self.status(now)
        outcome = self.outcome
        required_action = None
        if status == "requires_action":
            required_action = {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {"tool_calls": [dict(call) for call in outcome.tool_calls]},
            }
        usage = None
        if status in TERMINAL:
            completion = outcome.completion_tokens if status in ("completed", "incomplete") else 0
            usage = {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": completion,
                "total_tokens": self.prompt_tokens + completion,
            }
        return {
            "id": self.id,
            "object": "thread.run",
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "status": status,
            "required_action": required_action,
            "last_error": dict(outcome.last_error) if status == "failed" and outcome.last_error else None,
            "created_at": unix(self.created_at),
            "expires_at": unix(self.expires_at),
            "started_at": unix(self.entered("in_progress", now)),
            "completed_at": unix(self.entered("completed", now)),
            "cancelled_at": unix(self.entered("cancelled", now)),
            "failed_at": unix(self.entered("failed", now)),
            "incomplete_details": (
                dict(outcome.incomplete_details) if status == "incomplete" and outcome.incomplete_details else None
            ),
            "usage": usage,
            **self.settings,
            "metadata": dict(self.metadata),
        }
