"""FaultInjector and Fault as plain data, and the Timeline lifecycle helper (no HTTP)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from simulators.faults import DEFAULT_RATE_KINDS, Fault, FaultInjector, FaultKind, parse_kind
from simulators.lifecycle import Timeline


def test_kinds_parse_by_name_or_status_alias():
    assert parse_kind("429") is FaultKind.THROTTLE
    assert parse_kind(" Apply_Then_Timeout ") is FaultKind.APPLY_THEN_TIMEOUT
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_kind("meteor")


def test_fault_json_round_trip_and_validation():
    fault = Fault.from_json({"kind": "503", "operation": "Jobs_Get", "retryAfter": 4, "times": 2})
    assert fault == Fault(FaultKind.UNAVAILABLE, "Jobs_Get", times=2, retry_after=4)
    assert Fault.from_json(fault.to_json()) == fault
    for bad in (
        {},
        {"kind": "drop", "extra": 1},
        {"kind": "drop", "times": 0},
        {"kind": "slow", "seconds": -1},
        {"kind": "apply_then_timeout", "status": 200},
    ):
        with pytest.raises(ValueError):
            Fault.from_json(bad)


def test_script_matches_by_operation_in_queue_order_and_counts_down_times():
    faults = FaultInjector()
    faults.script(Fault(FaultKind.THROTTLE, "Jobs_Get", times=2), Fault(FaultKind.DROP))
    assert faults.pick("Jobs_List").kind is FaultKind.DROP  # the Jobs_Get throttle does not match
    assert faults.pick("Jobs_List") is None
    assert [faults.pending()[0].times] == [2]
    assert faults.pick("Jobs_Get").kind is FaultKind.THROTTLE
    assert faults.pick("Jobs_Get").kind is FaultKind.THROTTLE
    assert faults.pick("Jobs_Get") is None
    assert faults.pending() == []


def test_rate_faults_follow_the_seed_and_the_chosen_kinds():
    def draw(injector: FaultInjector) -> list[str | None]:
        return [None if (fault := injector.pick("op")) is None else fault.kind.value for _ in range(200)]

    first, second = FaultInjector(rate=0.3, seed=5), FaultInjector(rate=0.3, seed=5)
    assert draw(first) == draw(second)
    kinds = {kind for kind in draw(first) if kind}
    assert kinds == {kind.value for kind in DEFAULT_RATE_KINDS}
    only_slow = FaultInjector(rate=1.0, kinds=["slow"], seconds=0.25)
    fault = only_slow.pick("op")
    assert (fault.kind, fault.seconds, fault.operation) == (FaultKind.SLOW, 0.25, "op")
    assert FaultInjector(rate=0.0).pick("op") is None
    with pytest.raises(ValueError):
        FaultInjector(rate=1.5)


def test_reset_replays_the_same_random_sequence():
    faults = FaultInjector(rate=0.5, seed=9)
    first = [faults.pick("op") for _ in range(50)]
    faults.script(Fault(FaultKind.DROP))
    faults.reset()
    assert faults.pending() == []
    assert [faults.pick("op") for _ in range(50)] == first


def test_timeline_status_offsets_and_entry_times():
    timeline = Timeline((("Queued", 120), ("Running", 600)), "Completed")
    assert [timeline.status_at(s) for s in (-1, 0, 119.9, 120, 719, 720, 10**6)] == [
        "Queued",
        "Queued",
        "Queued",
        "Running",
        "Running",
        "Completed",
        "Completed",
    ]
    assert (timeline.total, timeline.offset("Running"), timeline.offset("Completed")) == (720, 120, 720)
    assert timeline.offset("Failed") is None
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert timeline.entered_at("Running", created) == datetime(2026, 1, 1, 0, 2, tzinfo=timezone.utc)


def test_a_scripted_fault_can_let_matching_requests_through_first():
    faults = FaultInjector()
    faults.script(Fault(FaultKind.STRAY_404, "Jobs_Get", skip=2))
    assert [faults.pick("Jobs_Get") for _ in range(2)] == [None, None]
    assert faults.pick("Jobs_List") is None
    assert faults.pick("Jobs_Get").kind is FaultKind.STRAY_404 and faults.pending() == []
