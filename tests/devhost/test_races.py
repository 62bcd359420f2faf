"""Commands that land while an episode is in flight (durable-functions.md §2.4): a terminate that answered
ends the instance for good, a suspend holds, every event raised is delivered exactly once.

Each test fires its commands at random moments (fixed seeds) at loops that are always mid-episode: a
tight continue_as_new loop, an activity-heavy loop and a timer-heavy loop.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest

from devhost.history import EventType

LOOPS = ["spin", "spin_activities", "spin_timers"]


def at_random_moments(ids: list[str], seed: int, command: Callable[[str], None], gap: float = 0.003) -> None:
    """Run `command` once per id, in a seeded random order, with seeded random pauses between them."""
    rng = random.Random(seed)
    order = list(ids)
    rng.shuffle(order)
    errors: list[BaseException] = []

    def drive() -> None:
        for instance_id in order:
            time.sleep(rng.uniform(0, gap))
            try:
                command(instance_id)
            except BaseException as exc:  # reported below
                errors.append(exc)

    thread = threading.Thread(target=drive)
    thread.start()
    thread.join(60)
    assert not errors, errors[:3]


def start_loops(served, name: str, count: int) -> list[str]:
    ids = [f"{name}-{i}" for i in range(count)]
    for instance_id in ids:
        served.host.start_new(name, instance_id, None)
    deadline = time.monotonic() + 10
    while served.host.episodes < count and time.monotonic() < deadline:  # every loop is going
        time.sleep(0.01)
    return ids


@pytest.mark.parametrize(("loop", "seed"), list(zip(LOOPS, (11, 12, 13), strict=True)))
def test_200_terminates_at_random_moments_all_end_terminated_and_none_resumes(served, loop, seed):
    ids = start_loops(served, loop, 200)
    at_random_moments(ids, seed, lambda i: served.host.terminate(i, "stop"))
    served.host.wait_idle(30)
    time.sleep(0.1)
    served.host.wait_idle(30)
    rows = {i: served.host.get(i) for i in ids}
    assert {i: r.status for i, r in rows.items() if r.status != "Terminated"} == {}
    assert all(r.output == "stop" for r in rows.values())
    for instance_id in ids:
        last = served.host.store.history(instance_id)[-1]
        assert last["EventType"] == EventType.ExecutionCompleted and last["OrchestrationStatus"] == 5


@pytest.mark.parametrize(("loop", "seed"), list(zip(LOOPS, (21, 22, 23), strict=True)))
def test_200_suspends_at_random_moments_all_hold_until_resumed(served, loop, seed):
    ids = start_loops(served, loop, 200)
    at_random_moments(ids, seed, lambda i: served.host.suspend(i, "hold"))
    served.host.wait_idle(30)
    episodes = served.host.episodes
    time.sleep(0.1)
    served.host.wait_idle(30)
    assert {i: s for i in ids if (s := served.host.get(i).status) != "Suspended"} == {}
    assert served.host.episodes == episodes  # nothing ran while suspended
    for instance_id in ids[:20]:
        served.host.resume(instance_id, "go")
    deadline = time.monotonic() + 10
    while served.host.episodes < episodes + 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert served.host.episodes >= episodes + 20
    assert {served.host.get(i).status for i in ids[:20]} == {"Running"}
    assert {served.host.get(i).status for i in ids[20:]} == {"Suspended"}
    for instance_id in ids:
        served.host.terminate(instance_id, "done")


def test_200_events_at_random_moments_are_each_delivered_exactly_once(served):
    ids = start_loops(served, "tally", 20)
    ticks = [i for i in ids for _ in range(10)]
    # at_random_moments shuffles, so each instance gets its ten events interleaved with the others'.
    at_random_moments(ticks, 31, lambda i: served.host.raise_event(i, "tick", None), gap=0.002)
    served.host.wait_idle(30)
    assert {i: served.host.get(i).custom_status for i in ids} == {i: {"seen": 10} for i in ids}


def test_terminate_then_purge_at_random_moments_leaves_nothing_behind(served):
    ids = start_loops(served, "spin_activities", 100)

    def end(instance_id: str) -> None:
        served.host.terminate(instance_id, "stop")
        assert served.host.store.purge(instance_id) == 1

    at_random_moments(ids, 41, end)
    served.host.wait_idle(30)
    assert [i for i in ids if served.host.get(i) is not None] == []
    leftovers = served.host.store._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    assert leftovers == 0
