"""Cancel: runs of every job type cancelled at random moments, from right after the start request (before
the orchestrator waits) to deep into six-hour jobs that have continued-as-new several times. Every cancelled
run ends Cancelled (or the terminal state its platform had already reached) and no remote job is left
running. devhost runs in a subprocess on a x600 clock, the simulators here (tests/reliability/support.py).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from orchestrators import abacus_pipeline, azureml_pipeline, foundry_agent

from .support import CATALOG, call, remote_status, request_for, scaled_stack, wait_runs, write_figures

SEED = 4242
SCALE = 600.0
RUNS = 96
IMMEDIATE_SHARE = 0.3  # cancelled at once after the start request: before the orchestrator's first wait
LONGEST_DELAY = {"aml-long": 30.0, "agent-slow": 1.0}  # wall s; x600: six hours is 36 s, ten minutes 1 s
DEFAULT_DELAY = 2.5
# continue-as-new after this many polls, per job type (each orchestrator's PollPolicy)
POLLS_PER_EXECUTION = {"azureml_pipeline": azureml_pipeline.POLICY.polls_per_execution,
                       "foundry_agent": foundry_agent.POLICY.polls_per_execution,
                       "abacus_pipeline": abacus_pipeline.POLICY.polls_per_execution}
DEADLINE = 120.0


def _phase(run: dict[str, Any]) -> str:
    if run.get("status") in ("Success", "Failed", "Cancelled"):
        return "already ended"
    if not run.get("remoteRunId"):
        return "before submit finished"
    polls, per_execution = run.get("polls") or 0, POLLS_PER_EXECUTION[run["jobType"]]
    if polls >= per_execution:
        edge = polls % per_execution in (0, per_execution - 1)
        return "at a continue-as-new" if edge else "after a continue-as-new"
    return "polling (first execution)"


def test_cancels_at_random_moments_end_cancelled_and_leave_no_remote_job_running(tmp_path):
    rng = random.Random(SEED)
    kinds = list(CATALOG)
    plan = []
    for index in range(RUNS):
        kind = kinds[index % len(kinds)]
        immediate = rng.random() < IMMEDIATE_SHARE
        plan.append((f"cancel-{index:03d}-{kind}", kind, rng.uniform(0, 8.0),
                     0.0 if immediate else rng.uniform(0, LONGEST_DELAY.get(kind, DEFAULT_DELAY))))
    phases: Counter[str] = Counter()
    answers: Counter[int] = Counter()
    errors: list[str] = []
    with scaled_stack(tmp_path, SCALE) as (simulation, devhost):
        started = time.monotonic()
        deadline = started + DEADLINE

        def drive(run_id: str, kind: str, at: float, delay: float) -> None:
            try:
                time.sleep(max(0.0, started + at - time.monotonic()))
                body = request_for(kind, run_id, int(run_id.split("-")[1]))
                response = call(devhost, "POST", "/api/runs", deadline, json=body)
                assert response.status_code == 202, response.text
                if delay:
                    time.sleep(delay)
                    phases[_phase(call(devhost, "GET", f"/api/runs/{run_id}", deadline).json())] += 1
                else:
                    phases["right after the start request"] += 1
                answer = call(devhost, "POST", f"/api/runs/{run_id}/cancel", deadline)
                assert answer.status_code in (202, 409), answer.text
                answers[answer.status_code] += 1
            except BaseException as exc:
                errors.append(f"{run_id}: {exc!r}")

        with ThreadPoolExecutor(max_workers=RUNS) as pool:
            list(pool.map(lambda item: drive(*item), plan))
        assert not errors, errors[:5]
        runs = wait_runs(devhost, [run_id for run_id, *_ in plan], deadline)
        wall = time.monotonic() - started
        stats = {name: server.stats() for name, server in simulation.servers.items()}
        wrong = []
        for run_id, kind, *_ in plan:
            run = runs.get(run_id)
            if run is None:
                continue
            truth = remote_status(simulation.servers, run)
            allowed = ("Cancelled", CATALOG[kind][1])
            if run["status"] not in allowed or (truth is not None and truth != run["remoteStatus"]):
                wrong.append({"run": run_id, "status": run["status"], "remoteStatus": run["remoteStatus"],
                              "simulatorStatus": truth, "error": run["error"]})
    outcomes = Counter(run["status"] for run in runs.values())
    executions = Counter(
        "continued as new" if (run.get("polls") or 0) >= POLLS_PER_EXECUTION[run["jobType"]] else "one execution"
        for run in runs.values())
    figures = write_figures("cancel", {
        "seed": SEED, "timeScale": SCALE, "runs": RUNS, "cancelPhases": dict(phases),
        "cancelAnswers": {str(k): v for k, v in answers.items()}, "outcomes": dict(outcomes),
        "runsByExecutions": dict(executions), "lostRuns": RUNS - len(runs), "wrongStatus": wrong,
        "remoteJobsCreated": {name: stat["remoteJobsCreated"] for name, stat in stats.items()},
        "duplicateRemoteJobs": sum(stat["remoteJobsCreated"] for stat in stats.values())
        - len({run["remoteRunId"] for run in runs.values() if run.get("remoteRunId")}),
        "remoteJobsRunningAtEnd": sum(stat["runningNow"] for stat in stats.values()),
        "wallSeconds": round(wall, 1),
    })
    assert figures["lostRuns"] == 0
    assert wrong == [], wrong[:5]
    assert figures["remoteJobsRunningAtEnd"] == 0, stats
    assert figures["duplicateRemoteJobs"] == 0
    assert outcomes["Cancelled"] > RUNS // 2
