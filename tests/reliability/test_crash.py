"""Crash: SIGKILL devhost at random moments while runs of every job type are in flight, restart it on the
same SQLite file, and check that every run ends as the simulators' truth says, with one remote job each.

devhost runs in a subprocess (so it can be killed) on `--clock real --time-scale K`; the simulators run in
this process (so they outlive every kill) on a `ScaledClock` with the same scale and origin, so both sides
agree on the time. Kill moments, run kinds and cancels come from one seeded `random.Random`.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .support import CATALOG, call, remote_status, request_for, scaled_stack, wait_runs, write_figures

SEED = 20261126
RUNS = 210
KILLS = 24
SCALE = 600.0  # one wall second is ten simulated minutes: the longest catalog job (22 min) takes ~2.2 s
SUBMIT_SPAN = 16.0  # wall seconds over which the runs are submitted
KILL_SPAN = 20.0  # wall seconds over which the kills are spread
CANCEL_SHARE = 0.2
DEADLINE = 150.0  # wall seconds for the whole test, kills and restarts included
PHASES = {"submit_run": "submit", "poll_run": "poll", "cancel_run": "cancel", "read_outputs": "outputs"}


def _phases(db: Path) -> Counter[str]:
    """What the live runs were doing just before a kill, from devhost's own tables (read-only)."""
    phases: Counter[str] = Counter()
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        for (name,) in connection.execute("SELECT name FROM work"):
            phases[f"in {PHASES.get(name, name)}"] += 1
        for (event,) in connection.execute("SELECT event FROM messages"):
            if '"EventRaised"' in event or "cancel" in event.lower():
                phases["cancel event pending"] += 1
            elif "TimerFired" in event:
                phases["waiting on a poll timer"] += 1
            elif "ExecutionStarted" in event:
                phases["starting (or continuing as new)"] += 1
        live = "SELECT COUNT(*) FROM instances WHERE status IN ('Pending', 'Running')"
        phases["live runs (summed over kills)"] += connection.execute(live).fetchone()[0]
    except sqlite3.Error:
        phases["unreadable"] += 1
    finally:
        connection.close()
    return phases


def test_sigkill_at_random_moments_loses_no_run_and_duplicates_no_remote_job(tmp_path):
    rng = random.Random(SEED)
    kinds = [kind for kind in CATALOG if kind != "aml-long"]  # six hours: 36 s at x600
    plan = [(f"crash-{i:03d}-{kind}", kind, rng.uniform(0, SUBMIT_SPAN),
             rng.uniform(0.05, 2.5) if rng.random() < CANCEL_SHARE else None)
            for i, kind in ((i, kinds[i % len(kinds)]) for i in range(RUNS))]
    kill_times = sorted(rng.uniform(0.3, KILL_SPAN) for _ in range(KILLS))
    kill_phases: Counter[str] = Counter()
    cancelled: set[str] = set()
    errors: list[str] = []
    with scaled_stack(tmp_path, SCALE) as (simulation, devhost):
        started = time.monotonic()
        deadline = started + DEADLINE

        def drive(run_id: str, kind: str, at: float, cancel_after: float | None) -> None:
            try:
                time.sleep(max(0.0, started + at - time.monotonic()))
                body = request_for(kind, run_id, int(run_id.split("-")[1]))
                response = call(devhost, "POST", "/api/runs", deadline, json=body)
                assert response.status_code in (200, 202), response.text
                if cancel_after is not None:
                    time.sleep(cancel_after)
                    answer = call(devhost, "POST", f"/api/runs/{run_id}/cancel", deadline)
                    assert answer.status_code in (202, 409), answer.text  # 409: it had ended already
                    if answer.status_code == 202:
                        cancelled.add(run_id)
            except BaseException as exc:  # reported by the main thread
                errors.append(f"{run_id}: {exc!r}")

        with ThreadPoolExecutor(max_workers=32) as pool:
            for item in plan:
                pool.submit(drive, *item)
            for when in kill_times:
                time.sleep(max(0.0, started + when - time.monotonic()))
                kill_phases.update(_phases(devhost.db))
                devhost.kill()
                devhost.start()
        assert not errors, errors[:5]
        runs = wait_runs(devhost, [run_id for run_id, *_ in plan], deadline)
        pending = {run_id for run_id, *_ in plan} - runs.keys()
        wall = time.monotonic() - started
        stats = {name: server.stats() for name, server in simulation.servers.items()}
        figures = _figures(plan, runs, pending, cancelled, simulation.servers, stats, kill_phases, devhost, wall)
    assert not pending, f"lost runs: {sorted(pending)[:10]}"
    assert figures["wrongStatus"] == [], figures["wrongStatus"][:10]
    assert figures["duplicateRemoteJobs"] == 0
    assert figures["runsWithoutRemoteJob"] == [], figures["runsWithoutRemoteJob"]
    assert figures["remoteJobsRunningAtEnd"] == 0, stats
    assert figures["kills"] >= 20


def _figures(plan, runs, pending, cancelled, servers, stats, kill_phases, devhost, wall) -> dict[str, Any]:
    wrong, without_remote = [], []
    remote_ids: Counter[str] = Counter()
    by_platform: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for run_id, kind, _, _ in plan:
        run = runs.get(run_id)
        if run is None:
            continue
        natural = CATALOG[kind][1]
        allowed = {natural, "Cancelled"} if run_id in cancelled else {natural}
        truth = remote_status(servers, run)
        outcomes[run["status"]] += 1
        if run["status"] not in allowed or (truth is not None and truth != run["remoteStatus"]):
            wrong.append({"run": run_id, "status": run["status"], "allowed": sorted(allowed),
                          "remoteStatus": run["remoteStatus"], "simulatorStatus": truth, "error": run["error"]})
        if run.get("remoteRunId"):
            remote_ids[run["remoteRunId"]] += 1
            by_platform[run["jobType"]] += 1
        elif not (run_id in cancelled and run["status"] == "Cancelled"):
            without_remote.append(run_id)
    created = {name: stat["remoteJobsCreated"] for name, stat in stats.items()}
    expected = {"azure_ml": by_platform["azureml_pipeline"], "foundry_agents": by_platform["foundry_agent"],
                "abacus": by_platform["abacus_pipeline"]}
    duplicates = sum(created.values()) - sum(expected.values()) + sum(n - 1 for n in remote_ids.values())
    return write_figures("crash", {
        "seed": SEED, "timeScale": SCALE, "runs": len(plan), "runsByKind": dict(Counter(k for _, k, _, _ in plan)),
        "kills": len(devhost.restarts) - 1, "killPhases": dict(kill_phases),
        "restartSecondsMax": round(max(devhost.restarts), 2),
        "cancelsAccepted": len(cancelled), "outcomes": dict(outcomes),
        "remoteJobsCreated": created, "remoteJobsExpected": expected,
        "duplicateRemoteJobs": duplicates, "lostRuns": len(pending), "wrongStatus": wrong,
        "runsWithoutRemoteJob": without_remote,
        "remoteJobsRunningAtEnd": sum(stat["runningNow"] for stat in stats.values()),
        "wallSeconds": round(wall, 1),
    })
