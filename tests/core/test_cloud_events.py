"""Run events built from a run record and a carried notice: same change, same id and body; sequence with no gap."""

from __future__ import annotations

import copy

from core.cloud_events import (
    OUTPUTS_WRITTEN,
    STATUS_CHANGED,
    chain_changes,
    is_final,
    new_notice,
    run_changes,
    source_for,
    with_source,
)

T = "2026-03-01T00:00:00+00:00"


def record(status: str, outputs: dict | None = None) -> dict:
    return {"id": "r1", "jobType": "foundry_agent", "status": status, "outputs": outputs or {}, "polls": 1}


def test_each_change_of_status_is_one_event_numbered_on_from_the_notice():
    notice = new_notice()
    first = run_changes(notice, record("Starting"), T)
    assert [(e["id"], e["sequence"], e["type"], e["data"]["previousStatus"], e["data"]["status"]) for e in first] == [
        ("r1:1", 1, STATUS_CHANGED, None, "Starting")]
    assert run_changes(notice, record("Starting"), T) == []  # nothing changed: nothing sent
    carried = copy.deepcopy(notice)  # continue-as-new carries it
    running = run_changes(carried, record("Running"), T)
    assert [e["id"] for e in running] == ["r1:2"] and running[0]["subject"] == "runs/r1"


def test_the_end_announces_the_outputs_then_the_final_status_once():
    notice = {"sequence": 2, "status": "Running", "outputs": False}
    events = run_changes(notice, record("Success", {"response": "hi"}), T)
    assert [(e["id"], e["type"]) for e in events] == [("r1:3", OUTPUTS_WRITTEN), ("r1:4", STATUS_CHANGED)]
    assert events[0]["data"]["outputs"] == {"response": "hi"} and is_final(events[1]) and not is_final(events[0])
    assert run_changes(notice, record("Success", {"response": "hi"}), T) == []


def test_the_same_change_gives_the_same_body():
    one = run_changes(new_notice(), record("Starting"), T)
    two = run_changes(new_notice(), record("Starting"), T)
    assert with_source(one[0], source_for("Hub")) == with_source(two[0], source_for("Hub"))
    assert with_source(one[0], source_for("Hub"))["source"] == "runbridge/Hub"


def test_a_chain_sends_its_status_changes_with_its_steps():
    chain = {"id": "c1", "status": "Running", "steps": [{"name": "a", "runId": "c1-a", "status": "NotRun"}]}
    notice = new_notice()
    [event] = chain_changes(notice, chain, T)
    assert event["id"] == "c1:1" and event["subject"] == "chains/c1"
    assert event["data"]["steps"] == [{"name": "a", "runId": "c1-a", "status": "NotRun"}]
    assert chain_changes(notice, chain, T) == []
