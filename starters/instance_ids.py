"""One id, one orchestration: claiming a Durable instance id for a run or a chain, atomically.

Runs and chains share the task hub's one instance-id space (a run id and a chain id are both instance ids,
and a chain's step runs are `<chainId>-<step>`), so an id taken by one is refused for the other: a start
never replaces what an id already names.

Why a claim token, not just "look, then start_new": Durable's start is not a create-if-absent.
- On an id whose instance has ended, start_new replaces it (`overridableExistingInstanceStates` is
  `NonRunningStates` by default, and has no "never" value: reference/durable-functions.md §2.4). So every
  start looks first and never calls start_new on an id that names anything.
- On a live (Running/Pending) instance it fails. But two starts racing on a fresh id may both be told
  202 by the real host: the Azure Storage provider de-duplicates the two start messages at run time and
  runs the one whose execution the Instances table records (durabletask PR 528), so a caller that was
  answered 202 may not have started anything. devhost is stricter here (its create is one SQLite
  transaction, and the loser gets 409), so tests on devhost alone would not show it.
So each start puts a fresh token (`claim`) in the orchestration input and reads the instance back after
start_new: the start whose token the instance carries created it (202); every other start answers with
that instance (200 for the same request, 409 otherwise). The instance's recorded input is the one the
task hub runs, on either host, so exactly one start claims creation.

What this cannot close through the Durable HTTP API: an id that is created *and ends* between a start's
last look and its start_new (one task-hub round trip) would be replaced. Durable offers no conditional
start; an entity lock would close it but devhost has no entities and it would add a queue round per start.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import azure.durable_functions as df

from core.chains import STEP_NAME
from core.payloads import decode_json_text
from core.protocol import CHAIN_ORCHESTRATOR

log = logging.getLogger("runbridge.start")
CLAIM = "claim"  # the input key holding the start's token (extra keys are ignored by the orchestrators)


class StartFailed(Exception):
    """The task hub did not take the start and no instance has the id: the caller may try again."""


class IdTaken(Exception):
    """The id names an instance of another kind (a chain for a run, a run for a chain) or another request."""

    def __init__(self, instance: dict[str, Any]) -> None:
        super().__init__(instance.get("instanceId"))
        self.instance = instance

    @property
    def orchestrator(self) -> str:
        return str(self.instance.get("name") or "")


@dataclass(frozen=True)
class Claimed:
    """The instance an id names after a start: `created` when this start made it."""

    instance: dict[str, Any]
    created: bool


async def read_instance(client: df.DurableOrchestrationClient, instance_id: str) -> dict[str, Any] | None:
    """The Durable status (with input) of whatever orchestration has this id, run or chain, or None."""
    status = await client.get_status(instance_id, show_input=True)
    if not status or not status.name:
        return None
    return status.to_json()


async def chain_with_step_id(client: df.DurableOrchestrationClient, instance_id: str) -> dict[str, Any] | None:
    """The chain whose step gets `instance_id` as its run id (`<chainId>-<step>`, run yet or not), or None.

    Step names have no '-', so the chain id is what comes before the last one.
    """
    chain_id, _, step = instance_id.rpartition("-")
    if not chain_id or not STEP_NAME.fullmatch(step):
        return None
    chain = await read_instance(client, chain_id)
    if chain is None or chain.get("name") != CHAIN_ORCHESTRATOR:
        return None
    steps = (input_of(chain).get("chain") or {}).get("steps") or []
    return chain if any(isinstance(s, dict) and s.get("name") == step for s in steps) else None


def input_of(instance: dict[str, Any]) -> dict[str, Any]:
    """The instance's input as a dict (inputs started through the SDK client arrive as JSON text)."""
    raw = decode_json_text(instance.get("input"))
    return raw if isinstance(raw, dict) else {}


async def claim(client: df.DurableOrchestrationClient, orchestrator: str, instance_id: str,
                payload: dict[str, Any], same: Callable[[dict[str, Any]], bool]) -> Claimed:
    """Start `orchestrator` as `instance_id` with `payload`, unless the id already names an instance.

    `same(instance)` says whether an existing instance of `orchestrator` was started from this very
    request (then it is answered, created=False). Raises IdTaken when the id names anything else,
    StartFailed when the task hub took nothing.
    """
    existing = await read_instance(client, instance_id)
    if existing is not None:
        return _held(existing, orchestrator, same)
    token = uuid.uuid4().hex
    refused = False
    try:
        await client.start_new(orchestrator, instance_id, {**payload, CLAIM: token})
    except Exception:  # a live instance has the id (another start won): answered below from what it is
        refused = True
    instance = await read_instance(client, instance_id)
    if instance is None:
        if refused:
            log.warning("the task hub refused to start %s and has no instance of that id", instance_id)
            raise StartFailed(instance_id)
        # Accepted, but not yet readable: this start's own, created about now.
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Claimed({"instanceId": instance_id, "name": orchestrator, "input": {**payload, CLAIM: token},
                        "runtimeStatus": "Pending", "createdTime": now, "lastUpdatedTime": now}, created=True)
    if not refused and input_of(instance).get(CLAIM) == token:
        return Claimed(instance, created=True)
    return _held(instance, orchestrator, same)


def _held(instance: dict[str, Any], orchestrator: str, same: Callable[[dict[str, Any]], bool]) -> Claimed:
    if instance.get("name") != orchestrator or not same(instance):
        raise IdTaken(instance)
    return Claimed(instance, created=False)
