"""The steps inside a run (a pipeline's child jobs or step versions, an agent run's steps) and its usage.

One shape for every platform, so the run record, the status events and the dashboard read steps the
same way whatever made them. Each platform client maps its own step objects into `RunStep` with its own
status table; this module bounds what a run carries (the first MAX_STEPS steps and a count of the rest,
messages cut to MAX_MESSAGE characters), so a pipeline of any size keeps the run record and the Durable
history per execution small, and says when a pipeline's own failure text should give way to its
failing step's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.status import RunStatus, is_terminal

MAX_STEPS = 50  # steps a run record carries at most; the rest are only counted
MAX_MESSAGE = 300  # characters of a step's error message kept (with an ellipsis when cut)
MAX_NAME = 120  # characters of a step's name kept
# Characters of JSON the record's `steps` may take. The run record is the orchestration's custom status,
# which Durable limits to 16 KB of UTF-16 JSON (durable-functions.md §1: SetCustomStatus, limit 16 KB),
# i.e. about 8,000 characters for the whole record: steps keep well inside that, so a run with long step
# names, errors and links shows fewer than MAX_STEPS steps (and counts the rest) instead of failing.
STEPS_CHARS = 6000


def cut(text: str | None, limit: int = MAX_MESSAGE) -> str | None:
    """`text` cut to `limit` characters (the last one an ellipsis when cut); None stays None."""
    if text is None:
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class StepError:
    """Why a step failed, in the platform's words (its code, when it has one)."""

    code: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": cut(self.message)}


@dataclass(frozen=True)
class RunStep:
    """One step of a run: its name, mapped status and the platform's own word, times, error, link."""

    name: str
    status: RunStatus
    remote_status: str | None
    started_at: str | None = None
    ended_at: str | None = None
    error: StepError | None = None
    monitor_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": cut(self.name, MAX_NAME), "status": self.status.value, "remoteStatus": self.remote_status,
                "startedAt": self.started_at, "endedAt": self.ended_at,
                "error": None if self.error is None else self.error.to_dict(), "monitorUrl": self.monitor_url}


@dataclass(frozen=True)
class Usage:
    """Tokens an agent run used (foundry-agents.md §2: `usage` is set once the run is terminal)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def from_wire(cls, raw: Any) -> Usage | None:
        """The run's `usage` object, or None when it has none yet (or it is malformed)."""
        if not isinstance(raw, Mapping):
            return None
        counts = [raw.get(key) for key in ("prompt_tokens", "completion_tokens", "total_tokens")]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in counts):
            return None
        return cls(*counts)

    def to_dict(self) -> dict[str, int]:
        return {"promptTokens": self.prompt_tokens, "completionTokens": self.completion_tokens,
                "totalTokens": self.total_tokens}


@dataclass(frozen=True)
class RunSteps:
    """The steps a client read, in the platform's order (oldest first), and how many it did not list.

    `unlisted` counts steps the client knows exist but did not fetch (it stops paging at MAX_STEPS).
    """

    steps: tuple[RunStep, ...]
    unlisted: int = 0

    def to_dict(self, budget: int = STEPS_CHARS) -> dict[str, Any]:
        """The run record's `steps`: `{"items": the first steps, "omitted": how many more}`; the first
        MAX_STEPS at most, and no more than fit in `budget` characters of JSON (a step renders in 130 to
        700 characters, so the budget usually binds first: 10 to 45 steps)."""
        items: list[dict[str, Any]] = []
        size = 0
        for step in self.steps[:MAX_STEPS]:
            item = step.to_dict()
            size += len(json.dumps(item, ensure_ascii=False)) + 2
            if size > budget:
                break
            items.append(item)
        return {"items": items, "omitted": len(self.steps) - len(items) + self.unlisted}

    def failed(self) -> RunStep | None:
        """The first step that failed (in the platform's order), if any."""
        return next((step for step in self.steps if step.status is RunStatus.FAILED), None)


def bounded(steps: Iterable[RunStep], unlisted: int = 0) -> RunSteps:
    """A `RunSteps` of `steps` (any number: only MAX_STEPS are ever rendered)."""
    return RunSteps(tuple(steps), unlisted)


def carry_starts(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> dict[str, Any]:
    """`current` (a run record's `steps`) with each step's `startedAt` kept from `previous` where the new read
    has none: a platform that dates only a step's latest change (Abacus step versions, abacus-pipelines.md
    §5: createdAt and updatedAt) tells its start while it runs and forgets it once it has ended."""
    earlier = {item.get("name"): item.get("startedAt") for item in (previous or {}).get("items") or []
               if isinstance(item, Mapping)}
    items = [dict(item, startedAt=item.get("startedAt") or earlier.get(item.get("name")))
             for item in current.get("items") or [] if isinstance(item, Mapping)]
    return {**current, "items": items}


def steps_due(previous_remote: str | None, remote: str | None, status: RunStatus) -> bool:
    """True when a poll should read the run's steps: its remote status changed, or the run ended.

    Not on every poll: a run's steps matter at its turns, and reading them each time would cost a call
    per poll and put them in the history again and again.
    """
    return remote != previous_remote or is_terminal(status)


def failure_message(own: str | None, steps: RunSteps | None, status: RunStatus = RunStatus.FAILED) -> str | None:
    """The run's error message when it failed: its own, unless that is empty or generic.

    A pipeline often fails with an empty or generic message while the reason is in a step (the seeds:
    Azure ML "fails with an empty message"; azureml-jobs.md §2.7: details are per run). When a step
    failed and its error is not already in the run's own message, the message names the step and
    carries its error, then what the pipeline itself said. A run that has not failed keeps its own
    message (a step may fail inside a pipeline that goes on).
    """
    failed = steps.failed() if steps is not None and status is RunStatus.FAILED else None
    if failed is None or failed.error is None or not failed.error.message.strip():
        return own
    step_text = failed.error.message.strip()
    if own and step_text.splitlines()[0] in own:  # the run's own message already carries the step's error
        return own
    code = f"{failed.error.code}: " if failed.error.code else ""
    message = f"Step {failed.name} failed: {code}{cut(step_text)}"
    return f"{message} (pipeline: {own.strip()})" if own and own.strip() else message
