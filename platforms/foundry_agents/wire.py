"""What a `foundry_agent` run sends to the agents data plane and reads back, as pure functions.

reference/foundry-agents.md ("the reference"; § numbers point into it, "client N" into its "What a client
must handle" list). Nothing here does I/O: the client composes these with its HTTP calls.

Decisions the reference and the seed leave open:
- The remote run id is `<thread_id>/<run_id>` (`thread_…/run_…`): a run is only addressable through its
  thread (§1), and neither id can contain a `/` (prefix + alphanumerics, §2). The seed's
  `agent#{thread}#{run}` is not used: the `agent#` prefix adds nothing the job type does not say.
- Thread and run are tagged with metadata `runbridge.runId = <run id>` (metadata is a str→str map on
  both, §2), which is how a submit whose answer was lost finds what it made (see client.submit).
- An empty `thread_id` value means "no thread given" (a scheduler sends an unset parameter as ""), so
  the run starts a new thread.
- `strip_annotations` (Input, `true`/`false`, default false) is the option of issue item 4: when true,
  the annotation markers (`【4:0†source】`) are cut out of the response text (client 7).
- `when_thread_busy` (Input, `fail`/`wait`, default fail) is the option of issue item 2 for a given thread
  that has someone else's active run (§4, client 4): fail at once, or wait (on durable timers, within the
  run's startTimeout) until that run has ended. runbridge never cancels a run it did not start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from core.errors import ValidationError
from core.parameters import Direction
from core.run_request import RunRequest

RUN_ID_TAG = "runbridge.runId"
USER_MESSAGE = "user_message"
THREAD_ID = "thread_id"
RESPONSE = "response"
STRIP_ANNOTATIONS = "strip_annotations"
WHEN_THREAD_BUSY = "when_thread_busy"
BUSY_CHOICES = ("fail", "wait")
# Each parameter a run may carry, and the directions that make sense for it.
PARAMETERS: Mapping[str, frozenset[Direction]] = {
    USER_MESSAGE: frozenset({Direction.INPUT}),
    THREAD_ID: frozenset(Direction),  # Input: continue it; Output: report the new one; InputOutput: both
    RESPONSE: frozenset({Direction.OUTPUT}),
    STRIP_ANNOTATIONS: frozenset({Direction.INPUT}),
    WHEN_THREAD_BUSY: frozenset({Direction.INPUT}),
}
# §2: ids are a prefix and (observed) 24 alphanumerics; any length is accepted, nothing that could leave
# the URL path segment it goes into.
THREAD_ID_PATTERN = re.compile(r"thread_[A-Za-z0-9]{1,128}")
_RUN_ID_PATTERN = re.compile(r"run_[A-Za-z0-9]{1,128}")
_BOOLEAN = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
# client 7: a citation marker such as 【4:0†source】, for annotations that do not name their marker
_MARKER = re.compile(r"【[^】]*†[^】]*】")

# §3: statuses of a run that block new messages and runs on its thread (§4).
ACTIVE_STATUSES = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
# §3: a run in one of these never changes again (`incomplete` is outside the spec's enum but sent).
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})


@dataclass(frozen=True)
class AgentRun:
    """What one run asks of the agent: the message, the thread to continue (None: a new one), options."""

    message: str
    thread_id: str | None = None
    strip_annotations: bool = False
    wait_for_thread: bool = False  # when_thread_busy=wait


def read_run(request: RunRequest) -> AgentRun:
    """The agent run a request describes; ValidationError naming the field when it cannot be one.

    No I/O: whether the agent and the thread exist is the client's check.
    """
    found: dict[str, tuple[int, Direction, str | None]] = {}
    expected = ", ".join(PARAMETERS)
    for index, parameter in enumerate(request.parameters):
        allowed = PARAMETERS.get(parameter.name)
        if allowed is None:
            raise ValidationError(f"parameters[{index}].name", f"is not a parameter of an agent run; expected "
                                                               f"one of {expected}")
        if parameter.direction not in allowed:
            wanted = " or ".join(sorted(d.value for d in allowed))
            raise ValidationError(f"parameters[{index}].direction", f"must be {wanted} for {parameter.name}")
        found[parameter.name] = (index, parameter.direction, parameter.value)
    if USER_MESSAGE not in found:
        raise ValidationError("parameters", f"needs {USER_MESSAGE} (Input): the message sent to the agent")
    index, _, message = found[USER_MESSAGE]
    if message is None and USER_MESSAGE in request.given_later:
        message = ""  # a chain step's message bound to an earlier output: checked when it is known
    elif message is None or not message.strip():
        raise ValidationError(f"parameters[{index}].value", "is required: the message sent to the agent")
    thread_id = None
    if THREAD_ID in found:
        index, direction, value = found[THREAD_ID]
        if direction.sends and value:
            if not THREAD_ID_PATTERN.fullmatch(value):
                raise ValidationError(f"parameters[{index}].value", "must be a thread id such as thread_abc123")
            thread_id = value
    strip = _option(found, STRIP_ANNOTATIONS, _BOOLEAN, "true or false", False)
    wait = _option(found, WHEN_THREAD_BUSY, {c: c == "wait" for c in BUSY_CHOICES}, " or ".join(BUSY_CHOICES),
                   False)
    return AgentRun(message, thread_id, strip, wait)


def _option(found: Mapping[str, tuple[int, Direction, str | None]], name: str, choices: Mapping[str, bool],
            expected: str, default: bool) -> bool:
    """The value of an optional Input chosen from `choices` (case-insensitive; unset or empty: default)."""
    if name not in found:
        return default
    index, _, value = found[name]
    if value is None or not value.strip():
        return default
    key = value.strip().casefold()
    if key not in choices:
        raise ValidationError(f"parameters[{index}].value", f"must be {expected}")
    return choices[key]


def thread_index(request: RunRequest) -> int | None:
    """The position of the thread_id parameter in the request (for error fields), if any."""
    return next((i for i, p in enumerate(request.parameters) if p.name == THREAD_ID), None)


# -- ids -------------------------------------------------------------------------------------------


def remote_run_id(thread_id: str, run_id: str) -> str:
    """The remote run id runbridge keeps: `<thread_id>/<run_id>`."""
    return f"{thread_id}/{run_id}"


def split_remote_run_id(remote: str) -> tuple[str, str]:
    """(thread id, run id) of a remote run id; ValueError when it is not one runbridge made."""
    thread_id, _, run_id = remote.partition("/")
    if not (THREAD_ID_PATTERN.fullmatch(thread_id) and _RUN_ID_PATTERN.fullmatch(run_id)):
        raise ValueError("not an agent run id of the form thread_…/run_…")
    return thread_id, run_id


def tagged(item: Mapping[str, Any], run_id: str) -> bool:
    """True when a thread or run carries this runbridge run's tag."""
    return (item.get("metadata") or {}).get(RUN_ID_TAG) == run_id


# -- request bodies --------------------------------------------------------------------------------


def user_message(text: str) -> dict[str, str]:
    """§2 ThreadMessageOptions for the run's user message."""
    return {"role": "user", "content": text}


def new_thread_run_body(agent_id: str, run: AgentRun, run_id: str) -> dict[str, Any]:
    """`POST /threads/runs` (§3): a new thread holding the message, and a run, in one call; both tagged."""
    tag = {RUN_ID_TAG: run_id}
    return {"assistant_id": agent_id, "thread": {"messages": [user_message(run.message)], "metadata": tag},
            "metadata": tag}


def thread_run_body(agent_id: str, run: AgentRun, run_id: str, with_message: bool = True) -> dict[str, Any]:
    """`POST /threads/{id}/runs` (§3): the message as `additional_messages` and the run, in one call."""
    body: dict[str, Any] = {"assistant_id": agent_id, "metadata": {RUN_ID_TAG: run_id}}
    if with_message:
        body["additional_messages"] = [user_message(run.message)]
    return body


# -- reading runs ----------------------------------------------------------------------------------


def is_active_run_refusal(message: str) -> bool:
    """True for §4's 400s: "Can't add messages to … while a run … is active" / "… already has an active run …"."""
    text = message.casefold()
    return "already has an active run" in text or ("while a run" in text and "is active" in text)


def iso_time(stamp: Any) -> str | None:
    """An ISO time from §2's Unix seconds (None when absent or not a number)."""
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat()


def ended_at(run: Mapping[str, Any]) -> str | None:
    """When a terminal run ended: its completed/failed/cancelled time, or `expires_at` for an expired one."""
    for key in ("completed_at", "failed_at", "cancelled_at"):
        if run.get(key) is not None:
            return iso_time(run[key])
    if run.get("status") == "expired":
        return iso_time(run.get("expires_at"))
    return None


def tool_calls_text(run: Mapping[str, Any]) -> str:
    """Why a run in requires_action cannot go on: the tool calls it waits for, by name (arguments left out:
    they may quote the conversation)."""
    action = run.get("required_action") or {}
    calls = ((action.get("submit_tool_outputs") or {}).get("tool_calls")) or []
    names = [str((call.get("function") or {}).get("name") or call.get("type") or "?") for call in calls]
    what = ", ".join(names) if names else f"a {action.get('type') or 'client'} action"
    return (f"The agent asked runbridge to run function tools ({what}); runbridge cannot execute tools, so the "
            "run was cancelled. Give the agent server-side tools, or run it where its functions are available.")


def failure_text(run: Mapping[str, Any]) -> str:
    """The error of a failed, expired or incomplete run: `last_error` / `incomplete_details` (client 8)."""
    status = run.get("status")
    error = run.get("last_error") or {}
    if status == "failed":
        code = error.get("code") or "failed"
        return f"{code}: {error.get('message') or 'the agent run failed without a message'}"
    if status == "expired":
        return ("expired: the agent run did not finish before it expired (runs expire ten minutes after they "
                "are created)")
    if status == "incomplete":
        reason = (run.get("incomplete_details") or {}).get("reason") or "no reason given"
        return f"incomplete: the agent run stopped before its answer was complete ({reason})"
    return f"{status}: the agent run ended without an answer"


# -- reading the answer ----------------------------------------------------------------------------


def answer_text(messages: Iterable[Mapping[str, Any]], strip_annotations: bool = False) -> str:
    """The text of a run's assistant messages, oldest first (client 7).

    Every `text` block of every assistant message, in order: blocks of one message joined by a newline,
    messages by a blank line. Other blocks (`image_file`) and other roles are left out.
    """
    parts = []
    for message in messages:
        if message.get("role") != "assistant":
            continue
        blocks = [_block_text(block, strip_annotations) for block in message.get("content") or []
                  if isinstance(block, Mapping) and block.get("type") == "text"]
        if blocks:
            parts.append("\n".join(blocks))
    return "\n\n".join(parts)


def _block_text(block: Mapping[str, Any], strip: bool) -> str:
    text = block.get("text") or {}
    value = str(text.get("value") or "")
    if not strip:
        return value
    markers: Sequence[str] = [a.get("text") for a in text.get("annotations") or [] if isinstance(a, Mapping)]
    for marker in markers:
        if marker:
            value = value.replace(marker, "")
    return _MARKER.sub("", value)
