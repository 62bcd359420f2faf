"""Runs in flight across a deploy keep working: episodes recorded from real runs replay unchanged.

tests/replay/recorded/*.json were recorded by `tests/replay/recorded/record.py` on the code of 2026-12-04
(before the run protocol module): each holds the history one episode of a real run sent to the SDK handle,
and what that code answered. Today's orchestrators must take the same decisions on the same history (the
same tasks, timers and continue-as-new, in the same order), and must read that day's input shapes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.payloads import decode_json_text
from devhost.app_loader import load_app
from tests.support.history import flat_actions

ROOT = Path(__file__).resolve().parent.parent.parent
RECORDED = sorted((Path(__file__).parent / "recorded").glob("*.json"))
# what a reader relies on in the published record (the new code may publish more, never less)
RECORD_FIELDS = ("id", "status", "remoteRunId", "monitorUrl", "remoteStatus", "polls", "createdAt")


def _replay(orchestrator: str, context: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(load_app(ROOT).orchestrators[orchestrator].callable(json.dumps(context)))
    except Exception as exc:  # the SDK raises with the state after $OutOfProcData$ (§1.1)
        message, _, data = str(exc).partition("\n\n$OutOfProcData$:")
        return {**json.loads(data), "error": message} if data else {"error": message}


def _decisions(state: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(a["actionType"], a.get("functionName"), a.get("fireAt"), a.get("externalEventName"),
             bool(a.get("isCanceled"))) for a in flat_actions(state)]


def test_there_are_recordings_of_every_job_type_mid_run_and_across_continue_as_new():
    # foundry_wait: an agent run waiting for a busy thread (when_thread_busy=wait), continued while waiting
    names = {path.stem for path in RECORDED}
    for job in ("azureml", "foundry", "abacus", "foundry_wait"):
        assert {f"{job}_mid_run", f"{job}_continue_as_new", f"{job}_continued_first", f"{job}_continued_mid"} <= names


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_a_recorded_episode_replays_to_the_same_decisions(path: Path):
    recorded = json.loads(path.read_text())
    old = recorded["result"]
    new = _replay(recorded["orchestrator"], recorded["context"])
    assert "error" not in new, new.get("error")
    assert new.get("isDone") == old.get("isDone")
    assert _decisions(new) == _decisions(old)
    if isinstance(old.get("customStatus"), dict):
        published = {k: new["customStatus"].get(k) for k in RECORD_FIELDS}
        assert published == {k: old["customStatus"].get(k) for k in RECORD_FIELDS}
    if old.get("isDone") and old.get("output") is not None:
        assert {k: new["output"].get(k) for k in RECORD_FIELDS} == {k: old["output"].get(k) for k in RECORD_FIELDS}


@pytest.mark.parametrize("path", [p for p in RECORDED if p.stem.endswith("_continued_first")], ids=lambda p: p.stem)
def test_a_continued_execution_publishes_the_record_it_carries_before_its_first_wait(path: Path):
    recorded = json.loads(path.read_text())
    carried = decode_json_text(recorded["context"]["input"])["run"]
    new = _replay(recorded["orchestrator"], recorded["context"])
    assert new["customStatus"] == carried
