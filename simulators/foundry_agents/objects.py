"""Agents, threads and messages of the simulated project, and their wire shapes (foundry-agents.md §2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulators.foundry_agents.runs import ACTIVE, Run
from simulators.foundry_agents.wire import unix

AGENT_FIELDS: dict[str, Any] = {
    "name": None,
    "description": None,
    "model": None,
    "instructions": None,
    "tools": [],
    "tool_resources": None,
    "temperature": 1,  # §2: nullable, default 1
    "top_p": 1,
    "response_format": "auto",
    "metadata": {},
}
"""The Agent's writable fields and what an agent created without them shows."""


@dataclass
class Agent:
    """A classic agent (`object: "assistant"`); `preset` names the seeded behaviour of catalog agents."""

    id: str
    seq: int
    created_at: datetime
    fields: dict[str, Any]
    preset: str | None = None

    @property
    def metadata(self) -> dict[str, str]:
        return self.fields.get("metadata") or {}

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "object": "assistant", "created_at": unix(self.created_at), **self.fields}


@dataclass
class Message:
    """A ThreadMessage; `run_id`/`assistant_id` are set on the messages a run wrote."""

    id: str
    seq: int
    created_at: datetime
    thread_id: str
    role: str
    content: list[dict[str, Any]]
    assistant_id: str | None = None
    run_id: str | None = None
    attachments: list[Any] | None = None
    metadata: dict[str, str] | None = None
    incomplete_details: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        incomplete = self.incomplete_details is not None
        return {
            "id": self.id,
            "object": "thread.message",
            "created_at": unix(self.created_at),
            "thread_id": self.thread_id,
            "status": "incomplete" if incomplete else "completed",
            "incomplete_details": self.incomplete_details,
            "completed_at": None if incomplete else unix(self.created_at),
            "incomplete_at": unix(self.created_at) if incomplete else None,
            "role": self.role,
            "content": [dict(block) for block in self.content],
            "assistant_id": self.assistant_id,
            "run_id": self.run_id,
            "attachments": self.attachments,
            "metadata": self.metadata or {},
        }


@dataclass
class Thread:
    """A thread with its messages and runs, each list oldest first."""

    id: str
    seq: int
    created_at: datetime
    tool_resources: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    messages: list[Message] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "thread",
            "created_at": unix(self.created_at),
            "tool_resources": self.tool_resources,
            "metadata": self.metadata or {},
        }

    def active_run(self, now: datetime) -> Run | None:
        """The run that blocks new messages and runs (§4), if any."""
        return next((run for run in reversed(self.runs) if run.status(now) in ACTIVE), None)


@dataclass
class NewAgent:
    """An agent of the new Foundry agents API (`GET /agents`, §0): named and versioned, no `asst_` id.

    Its shape follows azure-ai-projects 2.x (`object: "agent"`, `versions.latest` with a `definition`
    of some `kind`) and is [U] beyond what a client needs to tell it apart from an assistant.
    """

    name: str
    seq: int
    created_at: datetime
    model: str

    def to_wire(self) -> dict[str, Any]:
        version = {
            "object": "agent.version",
            "id": f"{self.name}:1",
            "name": self.name,
            "version": "1",
            "description": None,
            "created_at": unix(self.created_at),
            "metadata": {},
            "definition": {"kind": "prompt", "model": self.model, "instructions": None},
        }
        return {"object": "agent", "id": self.name, "name": self.name, "versions": {"latest": version}}
