"""Claiming an instance id against the two behaviours a task hub has for racing starts (starters.instance_ids):
devhost refuses the loser; the real host's Azure Storage provider may tell both 202 and run only one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from starters.instance_ids import IdTaken, claim


class _Status:
    def __init__(self, data: dict[str, Any]) -> None:
        self.name = data["name"]
        self._data = data

    def to_json(self) -> dict[str, Any]:
        return dict(self._data)


class TaskHub:
    """A task hub client: the first start of an id is the one recorded and run. `refuse_live` is devhost's
    (and the real host's for a started instance) answer to a second start; without it the second start is
    told it was accepted, as the Azure Storage provider may tell racing starts (durabletask PR 528)."""

    def __init__(self, refuse_live: bool) -> None:
        self.refuse_live = refuse_live
        self.instances: dict[str, dict[str, Any]] = {}

    async def get_status(self, instance_id: str, **flags: bool) -> _Status | None:
        await asyncio.sleep(0)
        found = self.instances.get(instance_id)
        return _Status(found) if found else None

    async def start_new(self, name: str, instance_id: str, payload: dict[str, Any]) -> str:
        await asyncio.sleep(0)
        if instance_id in self.instances:
            if self.refuse_live:
                raise Exception("An instance with this ID already exists")
            return instance_id
        self.instances[instance_id] = {"name": name, "instanceId": instance_id, "input": json.dumps(payload),
                                       "runtimeStatus": "Pending"}
        return instance_id


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on a loop of its own thread: a browser test earlier in the session may leave a loop running here."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _same(request: dict[str, Any]):
    return lambda instance: json.loads(instance["input"])["request"] == request


@pytest.mark.parametrize("refuse_live", [True, False])
def test_of_fifty_racing_starts_exactly_one_creates_and_the_others_see_it_or_conflict(refuse_live):
    hub = TaskHub(refuse_live)
    requests = [{"job": "a" if i % 2 == 0 else "b"} for i in range(50)]

    async def race() -> list[Any]:
        starts = [claim(hub, "run_job", "dup", {"request": r}, _same(r)) for r in requests]
        return await asyncio.gather(*starts, return_exceptions=True)

    outcomes = _run(race())
    created = [o for o in outcomes if not isinstance(o, Exception) and o.created]
    assert len(created) == 1
    winner = json.loads(created[0].instance["input"])["request"]
    for request, outcome in zip(requests, outcomes, strict=True):
        if request == winner:
            assert not isinstance(outcome, Exception)
        else:
            assert isinstance(outcome, IdTaken)


def test_an_id_held_by_another_orchestrator_is_taken_even_with_the_same_input():
    hub = TaskHub(refuse_live=True)
    hub.instances["x"] = {"name": "run_chain", "instanceId": "x", "input": json.dumps({"request": {"job": "a"}}),
                          "runtimeStatus": "Completed"}
    with pytest.raises(IdTaken):
        _run(claim(hub, "run_job", "x", {"request": {"job": "a"}}, _same({"job": "a"})))
    assert hub.instances["x"]["name"] == "run_chain"
