"""Crash: SIGKILL devhost at random moments while runs of every job type are in flight, restart it on the
same SQLite file, and check that every run ends as the simulators' truth says, with one remote job each.

devhost runs in a subprocess (so it can be killed) on `--clock real --time-scale K`; the simulators run in
this process (so they outlive every kill) on a `ScaledClock` with the same scale and origin, so both sides
agree on the time. Kill moments, run kinds and cancels come from one seeded `random.Random`.
"""

from __future__ import annotations

import random
import re
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from devhost.crash_points import SETTING
from tests.support.run_truth import Sampler, check_run_truth

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
    asked: set[str] = set()  # runs a cancel was sent for (each may end Cancelled)
    cancelled: set[str] = set()  # those whose cancel was answered 202
    errors: list[str] = []
    with scaled_stack(tmp_path, SCALE) as (simulation, devhost):
        started = time.monotonic()
        deadline = started + DEADLINE
        sampler = Sampler(devhost.url, [run_id for run_id, *_ in plan[:21]])  # three of each kind, read often
        sampler.start()

        def drive(run_id: str, kind: str, at: float, cancel_after: float | None) -> None:
            try:
                time.sleep(max(0.0, started + at - time.monotonic()))
                body = request_for(kind, run_id, int(run_id.split("-")[1]))
                response = call(devhost, "POST", "/api/runs", deadline, json=body)
                assert response.status_code in (200, 202), response.text
                if cancel_after is not None:
                    time.sleep(cancel_after)
                    # asked before the call: a kill may eat the 202, and the retried call then meets the run
                    # this cancel already ended (409)
                    asked.add(run_id)
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
        sampler.done.set()
        sampler.join(10)
        pending = {run_id for run_id, *_ in plan} - runs.keys()
        wall = time.monotonic() - started
        stats = {name: server.stats() for name, server in simulation.servers.items()}
        figures = _figures(plan, runs, pending, asked, cancelled, simulation.servers, stats, kill_phases, devhost,
                           wall)
    assert not pending, f"lost runs: {sorted(pending)[:10]}"
    assert figures["wrongStatus"] == [], figures["wrongStatus"][:10]
    assert figures["duplicateRemoteJobs"] == 0
    assert figures["runsWithoutRemoteJob"] == [], figures["runsWithoutRemoteJob"]
    assert figures["remoteJobsRunningAtEnd"] == 0, stats
    assert figures["kills"] >= 20
    for records in sampler.records.values():  # status never went backwards through the kills
        check_run_truth(records)


def _figures(plan, runs, pending, asked, cancelled, servers, stats, kill_phases, devhost, wall) -> dict[str, Any]:
    wrong, without_remote = [], []
    remote_ids: Counter[str] = Counter()
    by_platform: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for run_id, kind, _, _ in plan:
        run = runs.get(run_id)
        if run is None:
            continue
        natural = CATALOG[kind][1]
        allowed = {natural, "Cancelled"} if run_id in asked else {natural}
        truth = remote_status(servers, run)
        outcomes[run["status"]] += 1
        if run["status"] not in allowed or (truth is not None and truth != run["remoteStatus"]):
            wrong.append({"run": run_id, "status": run["status"], "allowed": sorted(allowed),
                          "remoteStatus": run["remoteStatus"], "simulatorStatus": truth, "error": run["error"]})
        if run.get("remoteRunId"):
            remote_ids[run["remoteRunId"]] += 1
            by_platform[run["jobType"]] += 1
        elif not (run_id in asked and run["status"] == "Cancelled"):
            without_remote.append(run_id)
    created = {name: stat["remoteJobsCreated"] for name, stat in stats.items()}
    expected = {"azure_ml": by_platform["azureml_pipeline"], "foundry_agents": by_platform["foundry_agent"],
                "abacus": by_platform["abacus_pipeline"]}
    duplicates = sum(created.values()) - sum(expected.values()) + sum(n - 1 for n in remote_ids.values())
    return write_figures("crash", {
        "seed": SEED, "timeScale": SCALE, "runs": len(plan), "runsByKind": dict(Counter(k for _, k, _, _ in plan)),
        "kills": len(devhost.restarts) - 1, "killPhases": dict(kill_phases),
        "restartSecondsMax": round(max(devhost.restarts), 2),
        "cancelsSent": len(asked), "cancelsAccepted": len(cancelled), "outcomes": dict(outcomes),
        "remoteJobsCreated": created, "remoteJobsExpected": expected,
        "duplicateRemoteJobs": duplicates, "lostRuns": len(pending), "wrongStatus": wrong,
        "runsWithoutRemoteJob": without_remote,
        "remoteJobsRunningAtEnd": sum(stat["runningNow"] for stat in stats.values()),
        "wallSeconds": round(wall, 1),
    })


# ---- kills at exact moments: crash points ---------------------------------------------------------------
# Random kills rarely land inside a continue-as-new (milliseconds) or between a remote call and the storing of
# its result, so devhost is armed with crash points (devhost/crash_points.py): it kills itself right before a
# continue-as-new is stored and right after, and right after a submit or a cancel reached the platform but
# before its result was stored (so the restarted host makes that call again).
POINTS_SEED = 20261127
POINTS_SCALE = 60.0  # x60: a restart (~1.5 s) costs 1.5 simulated minutes, less than any job's remaining time
POINTS_RUNS = 18
POINTS_DEADLINE = 170.0
CRASH_POINTS = ("activity_done:submit_run", "activity_done:cancel_run",
                "continue_as_new:before_commit", "continue_as_new:after_commit")
CANCEL_EVERY = 4  # every fourth run (of each kind in turn) is cancelled while it runs: cancel_run calls happen
# An Abacus pipeline long enough to continue as new (its polls reach 30 s, 50 polls per execution); each run
# sets `tag` to its own value, so runbridge tells their versions apart (see request_for).
ABACUS_LONG = {"pipelineId": "simlong01", "pipelineName": "sim_long", "pendingSeconds": 60,
               "pipelineVariableMappings": [{"name": "tag", "variableType": "STRING", "value": "none"}],
               "steps": [{"stepName": "train", "seconds": 1800,
                          "stepInputMappings": [{"name": "tag", "variableType": "STRING",
                                                 "pipelineVariable": "tag"}]}]}
# long-pipeline made a one-hour job: it continues as new (30 polls per execution) even after restarts
# have cost it polls; the slow agent (~120 polls) and the long Abacus pipeline (~65) do at 50.
AML_HOUR = {"azure_ml": {"running_seconds": {"long-pipeline": 3600}}}
POINT_KINDS = {
    "aml-hour": lambda run_id, i: request_for("aml-long", run_id, i),
    "agent-slow": lambda run_id, i: request_for("agent-slow", run_id, i),
    "abacus-long": lambda run_id, i: {"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simlong01",
                                      "runId": run_id,
                                      "parameters": [{"name": "tag", "value": run_id, "direction": "Input"}]},
}
CRASH_LINE = re.compile(r"devhost: crash point (\S+) reached in (\S+)")


def _still_armed(kills: Counter[tuple[str, str]]) -> dict[str, str]:
    """DEVHOST_CRASH_AT for the next devhost life: every point, in runs of each kind, not yet hit."""
    return {SETTING: ",".join(f"{p}@{k}" for p in CRASH_POINTS for k in POINT_KINDS if not kills[p, k])}


def _kind(run_id: str) -> str:
    return next(kind for kind in POINT_KINDS if run_id.endswith(kind))


def test_sigkill_at_exact_moments_resumes_every_run_with_one_remote_job(tmp_path):
    rng = random.Random(POINTS_SEED)
    kinds = list(POINT_KINDS)
    plan = [(f"pt-{i:03d}-{kinds[i % len(kinds)]}", kinds[i % len(kinds)], rng.uniform(0, 12.0),
             rng.uniform(2.0, 8.0) if i % CANCEL_EVERY == 0 else None) for i in range(POINTS_RUNS)]
    kills: Counter[tuple[str, str]] = Counter()  # (point, kind of the run it killed)
    killed_runs: set[str] = set()
    asked: set[str] = set()  # runs a cancel was sent for (each may end Cancelled)
    cancelled: set[str] = set()  # those whose cancel was answered 202
    boundary: set[str] = set()  # runs cancelled right after a kill in the middle of their continue-as-new
    errors: list[str] = []
    with scaled_stack(tmp_path, POINTS_SCALE, _still_armed(kills), AML_HOUR) as (simulation, devhost):
        added = requests.post(f"{simulation.servers['abacus'].url}/_sim/pipelines", json=ABACUS_LONG, timeout=10)
        assert added.status_code == 200, added.text
        started = time.monotonic()
        deadline = started + POINTS_DEADLINE

        def drive(run_id: str, kind: str, at: float, cancel_after: float | None) -> None:
            try:
                time.sleep(max(0.0, started + at - time.monotonic()))
                body = POINT_KINDS[kind](run_id, int(run_id.split("-")[1]))
                response = call(devhost, "POST", "/api/runs", deadline, json=body)
                assert response.status_code in (200, 202), response.text
                if cancel_after is not None:
                    time.sleep(cancel_after)
                    cancel(run_id)
            except BaseException as exc:  # reported by the main thread
                errors.append(f"{run_id}: {exc!r}")

        def cancel(run_id: str) -> None:
            asked.add(run_id)  # before the call: a kill may eat the 202 and the retry then meets a 409
            try:
                answer = call(devhost, "POST", f"/api/runs/{run_id}/cancel", deadline)
                assert answer.status_code in (202, 409), answer.text
                if answer.status_code == 202:
                    cancelled.add(run_id)
            except BaseException as exc:
                errors.append(f"cancel {run_id}: {exc!r}")

        with ThreadPoolExecutor(max_workers=POINTS_RUNS + len(POINT_KINDS)) as pool:
            for item in plan:
                pool.submit(drive, *item)
            # the main thread only watches devhost: restart it whenever a crash point killed it
            while _still_armed(kills)[SETTING] and time.monotonic() < deadline:
                code = devhost.wait_exit(timeout=0.5)
                if code is None:
                    continue
                assert code == -9, f"devhost ended with {code}: {devhost.log.read_text()[-2000:]}"
                point, run_id = CRASH_LINE.findall(devhost.log.read_text())[-1]
                kills[point, _kind(run_id)] += 1
                killed_runs.add(run_id)
                devhost.start(_still_armed(kills))
                if point == "continue_as_new:after_commit":  # a cancel raised before the new execution runs
                    boundary.add(run_id)
                    pool.submit(cancel, run_id)
        assert not errors, errors[:5]
        runs = wait_runs(devhost, [run_id for run_id, *_ in plan], deadline)
        wall = time.monotonic() - started
        stats = {name: server.stats() for name, server in simulation.servers.items()}
        wrong = []
        for run_id, *_ in plan:
            run = runs.get(run_id)
            allowed = {"Success", "Cancelled"} if run_id in asked else {"Success"}
            truth = remote_status(simulation.servers, run) if run else None
            if run and run["status"] == "Cancelled" and run["jobType"] == "abacus_pipeline":
                # Abacus has no cancel: runbridge skips the pending steps and stops watching, a running step
                # goes on to its end (abacus-pipelines.md "What a faithful simulator must do" 6): not our status
                truth = None
            if run and (run["status"] not in allowed or (truth is not None and truth != run["remoteStatus"])):
                wrong.append({"run": run_id, "status": run["status"], "remoteStatus": run["remoteStatus"],
                              "simulatorStatus": truth, "error": run["error"]})
    remote_ids = Counter(run.get("remoteRunId") for run in runs.values())
    figures = write_figures("crash-points", {
        "seed": POINTS_SEED, "timeScale": POINTS_SCALE, "runs": POINTS_RUNS, "kills": sum(kills.values()),
        "killsByPoint": dict(Counter(point for point, _ in kills.elements())),
        "killsByKind": dict(Counter(kind for _, kind in kills.elements())), "killedRuns": sorted(killed_runs),
        "cancelsAccepted": len(cancelled), "cancelsAtAContinueAsNew": sorted(boundary & cancelled),
        "outcomes": dict(Counter(run["status"] for run in runs.values())),
        "lostRuns": POINTS_RUNS - len(runs), "wrongStatus": wrong,
        "remoteJobsCreated": {name: stat["remoteJobsCreated"] for name, stat in stats.items()},
        "duplicateRemoteJobs": sum(stat["remoteJobsCreated"] for stat in stats.values()) - POINTS_RUNS
        + sum(n - 1 for n in remote_ids.values()),
        "remoteJobsRunningAtEnd": sum(stat["runningNow"] for stat in stats.values()),
        "wallSeconds": round(wall, 1),
    })
    assert all(kills[point, kind] == 1 for point in CRASH_POINTS for kind in POINT_KINDS), figures
    assert figures["lostRuns"] == 0
    assert wrong == [], wrong[:5]
    assert figures["duplicateRemoteJobs"] == 0 and None not in remote_ids
    assert figures["remoteJobsRunningAtEnd"] == 0, stats
