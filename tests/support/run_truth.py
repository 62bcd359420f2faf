"""The run-truth property: what `GET /api/runs/{id}` says never goes backwards (DESIGN.md "The status contract").

`RecordWatcher` reads a run's record the way the API does (core.run_record.run_from_instance over the
management API's instance JSON) after EVERY change devhost commits to the instance (each episode,
continue-as-new, terminate), so no state a reader could ever see is skipped, however briefly it lasted.
`Sampler` reads `GET /api/runs/{id}` over HTTP, round and round, as a scheduler would. `check_run_truth`
asserts the guarantees over such a sequence of records.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from typing import Any

import requests

from core.run_record import run_from_instance

ENDED = ("Success", "Failed", "Cancelled")
# Starting → Running (Unknown: a Running run whose platform said something unmapped) → an end
RANK = {"Starting": 0, "Running": 1, "Unknown": 1, "Success": 2, "Failed": 2, "Cancelled": 2}


class RecordWatcher:
    """Every run record a reader could have seen, per run id, in commit order."""

    def __init__(self, host: Any, management: Any) -> None:
        self.host, self.management = host, management
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        store = host.store
        for name in ("create_instance", "commit_episode", "terminate", "set_status"):
            setattr(store, name, self._watching(getattr(store, name)))

    def _watching(self, method: Any) -> Any:
        def call(first: Any, *args: Any, **kwargs: Any) -> Any:
            result = method(first, *args, **kwargs)
            self._read(first if isinstance(first, str) else first.id)
            return result
        return call

    def _read(self, instance_id: str) -> None:
        inst = self.host.store.get(instance_id)
        if inst is None or ":" in instance_id:
            return
        record = run_from_instance(self.management.status_payload(inst))
        with self._lock:
            self.records[instance_id].append(record)


def check_run_truth(records: list[dict[str, Any]]) -> None:
    """Assert the status contract over one run's records, oldest first."""
    for before, after in itertools.pairwise(records):
        where = f"{before.get('status')}/{before.get('polls')} -> {after.get('status')}/{after.get('polls')}"
        assert RANK[after["status"]] >= RANK[before["status"]], f"status went backwards: {where}"
        if before["status"] == "Starting":
            assert after["status"] != "Unknown", f"Unknown before the run ever ran: {where}"
        for key in ("remoteRunId", "monitorUrl"):
            if before.get(key) is not None:
                assert after.get(key) == before[key], f"{key} changed or went back to null: {where}"
        assert (after.get("polls") or 0) >= (before.get("polls") or 0), f"polls decreased: {where}"
        if before["status"] in ENDED:  # final, but for the orphan sweeper's note on a stopped run
            swept = ("remoteStatus", "note") if after.get("note") else ()
            assert _without(after, swept) == _without(before, swept), f"an ended record changed: {where}"


def _without(record: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in keys}


class Sampler(threading.Thread):
    """GET /api/runs/{id} for every run, round and round, until stopped; the records per run, in order."""

    def __init__(self, base: str, run_ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.base, self.run_ids = base, run_ids
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.done = threading.Event()
        self.held = threading.Event()  # set while the host restarts

    def run(self) -> None:
        while not self.done.is_set():
            for run_id in self.run_ids:
                if self.held.is_set():
                    break
                try:
                    response = requests.get(f"{self.base}/api/runs/{run_id}", timeout=5)
                except requests.RequestException:  # the host is restarting
                    continue
                if response.status_code == 200:
                    self.records[run_id].append(response.json())
            time.sleep(0.002)
