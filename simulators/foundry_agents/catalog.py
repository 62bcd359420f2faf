"""The seeded Foundry project: its classic agents, and the scripts that say how a run of each goes.

DESIGN.md "Simulator catalog", project `sim-project`: `asst_echo…` completes in seconds and answers
`You said: <message> (message <n> in this thread)`; `asst_tools…` stops in `requires_action` with a
function tool call and, if nothing is submitted, expires ten minutes after creation
(foundry-agents.md §3, FN-DOC); `asst_slow…` is in_progress about ten minutes, then completed.

A `Script` is data: how long a run is queued and in progress, how it ends, and what it leaves behind
(assistant messages, `last_error`, `incomplete_details`, tool calls). Presets cover the outcomes a
client must handle (foundry-agents.md, "What a faithful simulator must do", 5); a test picks one with
agent metadata `sim.outcome` (a preset name or a JSON script) or queues one on `POST /_sim/outcomes`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from simulators.foundry_agents.wire import ApiError, content_blocks, text_block
from simulators.lifecycle import Timeline

PROJECT = "sim-project"
API_VERSIONS = ("v1", "2025-05-01", "2025-05-15-preview")  # foundry-agents.md §1
MODEL = "gpt-4o-mini"
ECHO_AGENT = "asst_echo00000000000000000000"
TOOLS_AGENT = "asst_tools0000000000000000000"
SLOW_AGENT = "asst_slow00000000000000000000"
OUTCOME_KEY = "sim.outcome"
"""Agent metadata key naming the script of the agent's runs (a preset name or a JSON script)."""

RUN_EXPIRY_SECONDS = 600  # §2/§3: expires_at = created_at + 600 (FN-DOC: "Runs expire ten minutes after creation")
ENDINGS = ("completed", "failed", "incomplete", "requires_action", "expired")


@dataclass(frozen=True)
class Script:
    """How one run goes: `queued` seconds, `running` seconds in progress, then `ending`.

    `ending` "requires_action" waits for tool outputs (and expires at `expires_at` without them);
    "expired" never finishes by itself, so it expires at `expires_at`. `messages` are the assistant
    messages a completed or incomplete run appends (None: the echo answer); each is a list of
    content blocks. `tool_calls` are `{name, arguments}` (None: one call to the agent's first
    function tool).
    """

    ending: str = "completed"
    queued: float = 1.0
    running: float = 2.0
    messages: tuple[tuple[dict[str, Any], ...], ...] | None = None
    last_error: Mapping[str, Any] | None = None
    incomplete_details: Mapping[str, Any] | None = None
    tool_calls: tuple[Mapping[str, str], ...] | None = None

    def timeline(self) -> Timeline:
        """The run's statuses from creation; an "expired" script stays in_progress (expiry ends it)."""
        final = "in_progress" if self.ending == "expired" else self.ending
        return Timeline((("queued", self.queued), ("in_progress", self.running)), final)


def _citation_message() -> tuple[dict[str, Any], ...]:
    marker = "【4:0†source】"
    value = f"The forecast for tomorrow is sunny{marker}."
    start = value.index(marker)
    annotation = {
        "type": "file_citation",
        "text": marker,
        "start_index": start,
        "end_index": start + len(marker),
        "file_citation": {"file_id": "assistant-simforecast00000000000"},
    }
    return ({"type": "text", "text": {"value": value, "annotations": [annotation]}},)


PRESETS: dict[str, Script] = {
    "echo": Script(),
    "slow": Script(queued=5, running=585),  # ~10 min, and done before expires_at (created + 600)
    "tools": Script(ending="requires_action"),
    "fail": Script(
        ending="failed",  # §3: the generic failure seen in the field
        last_error={"code": "server_error", "message": "Sorry, something went wrong."},
    ),
    "rate_limit": Script(
        ending="failed",  # §3: model throttling shows as a failed run, not an HTTP 429
        last_error={"code": "rate_limit_exceeded", "message": "Rate limit is exceeded. Try again in 60 seconds."},
    ),
    "incomplete": Script(ending="incomplete", incomplete_details={"reason": "max_completion_tokens"}),
    "multi": Script(  # several assistant messages, an annotation and an image_file block (§2, client 7)
        messages=(
            _citation_message(),
            (
                {"type": "image_file", "image_file": {"file_id": "assistant-simchart000000000000000"}},
                text_block("The chart above shows the week ahead."),
            ),
        )
    ),
    "expire": Script(ending="expired"),
}
AFTER_TOOL_OUTPUTS = Script()
"""What a run does once its tool outputs are submitted: queued, in progress, then completed."""

SEEDED_PRESETS = {ECHO_AGENT: "echo", TOOLS_AGENT: "tools", SLOW_AGENT: "slow"}

LOOKUP_ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order by its id.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "description": "The order id."}},
            "required": ["order_id"],
        },
    },
}

SEEDED_AGENTS: tuple[dict[str, Any], ...] = (
    {
        "id": ECHO_AGENT,
        "name": "echo",
        "description": "Echoes the last user message; completes in seconds.",
        "instructions": "Repeat the user's last message and count the user messages in the thread.",
        "tools": [],
    },
    {
        "id": TOOLS_AGENT,
        "name": "tools",
        "description": "Calls a client-side function tool (requires_action); expires after 10 minutes.",
        "instructions": "Look up the order the user names with the lookup_order function.",
        "tools": [LOOKUP_ORDER_TOOL],
    },
    {
        "id": SLOW_AGENT,
        "name": "slow",
        "description": "Thinks for about ten minutes, then answers like echo.",
        "instructions": "Take your time, then repeat the user's last message.",
        "tools": [],
    },
)

_SCRIPT_FIELDS = {
    "preset",
    "status",
    "queuedSeconds",
    "runningSeconds",
    "messages",
    "lastError",
    "incompleteDetails",
    "toolCalls",
}


def parse_script(data: Any) -> Script:
    """A `Script` from a preset name, a JSON text, or an object; ValueError when malformed.

    Object form (camelCase, like `/_sim/faults`): `{"preset"?, "status"?, "queuedSeconds"?,
    "runningSeconds"?, "messages"?: [text or [content blocks]], "lastError"?: {code, message},
    "incompleteDetails"?: {reason}, "toolCalls"?: [{name, arguments}]}`; fields override the preset
    (default "echo").
    """
    if isinstance(data, str):
        text = data.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"the script is not valid JSON: {exc}") from None
        elif text in PRESETS:
            return PRESETS[text]
        else:
            raise ValueError(f"unknown outcome {data!r}: use one of {', '.join(PRESETS)} or a JSON script")
    if not isinstance(data, Mapping):
        raise ValueError("an outcome is a preset name or an object")
    unknown = set(data) - _SCRIPT_FIELDS
    if unknown:
        raise ValueError(f"unknown outcome fields: {', '.join(sorted(unknown))}")
    script = parse_script(data.get("preset", "echo"))
    changes: dict[str, Any] = {}
    if "status" in data:
        if data["status"] not in ENDINGS:
            raise ValueError(f"status must be one of {', '.join(ENDINGS)}")
        changes["ending"] = data["status"]
    for field, key in (("queued", "queuedSeconds"), ("running", "runningSeconds")):
        if key in data:
            value = data[key]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{key} must be a non-negative number")
            changes[field] = float(value)
    if "messages" in data:
        changes["messages"] = _parse_messages(data["messages"])
    for field, key, required in (
        ("last_error", "lastError", ("code", "message")),
        ("incomplete_details", "incompleteDetails", ("reason",)),
    ):
        if key in data:
            value = data[key]
            if not isinstance(value, Mapping) or any(not isinstance(value.get(k), str) for k in required):
                raise ValueError(f"{key} must be an object with string {' and '.join(required)}")
            changes[field] = dict(value)
    if "toolCalls" in data:
        changes["tool_calls"] = _parse_tool_calls(data["toolCalls"])
    return replace(script, **changes)


def _parse_messages(value: Any) -> tuple[tuple[dict[str, Any], ...], ...]:
    if not isinstance(value, list):
        raise ValueError("messages must be a list (each a text or a list of content blocks)")
    try:
        return tuple(tuple(content_blocks(item, "messages")) for item in value)
    except ApiError as exc:
        raise ValueError(exc.message) from None


def _parse_tool_calls(value: Any) -> tuple[Mapping[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("toolCalls must be a non-empty list of {name, arguments}")
    calls = []
    for call in value:
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise ValueError("each tool call needs a string name")
        arguments = call.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        calls.append({"name": call["name"], "arguments": arguments})
    return tuple(calls)
