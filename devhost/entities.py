"""Durable entities: the host half of the Python 1.x entity batch protocol, pure with respect to storage.

The worker is handed `{"self": {"name", "key"}, "exists", "state", "batch": [{"name", "input"}]}` and
answers `{"entityExists", "entityState", "results": [{"isError", "result", ...}], "signals"}` (the SDK's
`DurableEntityContext.from_json` and `EntityState.to_json`). State and results are JSON text as the SDK
wrote them (`df_dumps`); an operation's input is that text JSON-encoded once more, because
`get_input()` decodes twice.

Entity ids follow the Durable Task rules: the scheduler id is `@<name>@<key>` with the name in lower case
(the SDK's `EntityId.get_scheduler_id`; the extension's EntityId does the same), the key as given.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The extension names the response event of a call by a GUID the orchestration chose; devhost derives it
# from the execution and sequence number, so a replayed episode names the same request.
_REQUEST_NAMESPACE = uuid.UUID("6f0c5a52-61f4-4c57-9a3c-0e3b1d1d7a11")


def scheduler_id(name: str, key: str) -> str:
    """`@counter@myKey` for EntityId("Counter", "myKey"): names are case-insensitive, keys are not."""
    return f"@{name.lower()}@{key}"


def split_scheduler_id(entity_id: str) -> tuple[str, str]:
    """(name, key) of a scheduler id; ValueError if it is not one."""
    name, sep, key = entity_id[1:].partition("@")
    if not entity_id.startswith("@") or not sep or not name or not key:
        raise ValueError(f"'{entity_id}' is not an entity id (@name@key)")
    return name.lower(), key


def request_id(execution_id: str, seq: int) -> str:
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"{execution_id}:{seq}"))


@dataclass
class Operation:
    """One queued operation: a signal, or a call whose result goes back to an orchestration."""

    id: int
    name: str
    input_text: str | None  # JSON text, as df_dumps wrote it (None: no input)
    request_id: str | None = None  # calls only
    parent_id: str | None = None
    parent_execution_id: str | None = None


@dataclass
class Result:
    operation: Operation
    is_error: bool
    result_text: str  # JSON text of the return value, or of the error message

    def response(self) -> str:
        """The EventRaised input the calling orchestration decodes (`ResponseMessage.from_dict`)."""
        body: dict[str, Any] = {"result": self.result_text}
        if self.is_error:
            body["exceptionType"] = "System.Exception"
        return json.dumps(body)


@dataclass
class EntityState:
    exists: bool
    state_text: str | None  # JSON text of the state; None when the entity does not exist


def run_operations(handler: Callable[[str], str], name: str, key: str, before: EntityState,
                   operations: list[Operation]) -> tuple[EntityState, list[Result]]:
    """Run operations in order; return the state after them and one result per operation.

    Each operation is its own batch of one, so an operation that raises leaves the state as it found it
    (only that operation is rolled back) and no operation ever runs twice.
    """
    state = before
    results: list[Result] = []
    for op in operations:
        try:
            answer = json.loads(handler(json.dumps({
                "self": {"name": name, "key": key},
                "exists": state.exists,
                "state": state.state_text if state.exists else None,
                "batch": [{"name": op.name, "input": json.dumps(op.input_text)}],
            })))
        except Exception as exc:  # the invocation itself failed: the operation fails, the state stands
            results.append(Result(op, True, json.dumps(f"Entity function '{name}' failed: {exc}")))
            continue
        outcome = answer["results"][0]
        results.append(Result(op, bool(outcome["isError"]), outcome["result"]))
        if not outcome["isError"]:
            exists = bool(answer.get("entityExists"))
            state = EntityState(exists, answer.get("entityState") if exists else None)
    return state, results


def input_text_of(token: Any) -> str | None:
    """The JSON text an operation input arrives as from HTTP: the SDK's client sends df_dumps text as a
    JSON string (so a str that is itself JSON is taken as is); any other JSON value is encoded."""
    if token is None:
        return None
    if isinstance(token, str):
        try:
            json.loads(token)
            return token
        except ValueError:
            return json.dumps(token)
    return json.dumps(token)
