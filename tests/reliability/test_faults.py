"""Faults: the simulators answer 20% of requests with 429 (+Retry-After), 500, 503, a slow answer or a
dropped connection. Every run ends as the same run ends without faults, and no request is sent again
before the Retry-After it was answered with has passed (checked on the simulators' request logs, in the
shared virtual time)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from .support import CATALOG, TERMINAL, call, request_for, scaled_stack, wait_runs, write_figures

SEED = 8
RATE = 0.2
KINDS = ["throttle", "server_error", "unavailable", "slow", "drop"]
RETRY_AFTER = 45  # simulated seconds each throttle (and 503) asks for
SLOW_SECONDS = 0.1  # real seconds of a slow answer (a simulated minute at SCALE)
SCALE = 600.0
RUNS_PER_KIND = 10
_SUBMIT_OPERATIONS = {"Jobs_Get", "Jobs_CreateOrUpdate"}  # Azure ML submit: GET (404) then PUT
DEADLINE = 90.0


def _run_all(devhost, prefix: str) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + DEADLINE
    ids = []
    kinds = [kind for kind in CATALOG if kind != "aml-long"]  # six hours: 36 s of wall time at x600
    for index, kind in enumerate(k for k in kinds for _ in range(RUNS_PER_KIND)):
        run_id = f"{prefix}-{index:03d}-{kind}"
        response = call(devhost, "POST", "/api/runs", deadline, json=request_for(kind, run_id, index))
        assert response.status_code == 202, response.text
        ids.append(run_id)
    runs = wait_runs(devhost, ids, deadline)
    assert len(runs) == len(ids), f"runs not ended: {sorted(set(ids) - runs.keys())[:5]}"
    return runs


def _shape(run: dict[str, Any]) -> tuple:
    """What must not depend on faults: status, remote status, error code, which outputs were written."""
    return (run["status"], run["remoteStatus"], (run["error"] or {}).get("code"), tuple(sorted(run["outputs"])))

def _early_retries(log: list[dict[str, Any]], markers: set[str]) -> tuple[int, list[dict[str, Any]]]:
    """Answers with a Retry-After to a request only one run sends (its path or query names the run, its
    remote job, run or version), and the later requests to the same target sent before that delay passed.
    Each early request is tagged with the phase of the answer that asked to wait: `submit` until the
    target's first 2xx PUT (Azure ML's idempotent create), `poll` after it or when the target has no PUT."""
    blocked_until: dict[tuple, tuple[datetime, str]] = {}
    created: set[str] = set()
    checked, early = 0, []
    for entry in log:
        target = entry["path"] + "?" + "&".join(f"{k}={v}" for k, v in sorted(entry["query"].items()))
        if not any(marker in target for marker in markers):
            continue
        key = (entry["method"], target.lower())
        at = datetime.fromisoformat(entry["at"])
        submitted = entry["path"].lower() in created or entry["operation"] not in _SUBMIT_OPERATIONS
        if key in blocked_until and at < blocked_until[key][0]:
            until, phase = blocked_until[key]
            early.append({**entry, "notBefore": until.isoformat(), "phase": phase})
        if entry["method"] == "PUT" and entry["status"] is not None and entry["status"] < 300:
            created.add(entry["path"].lower())
        if entry["retryAfter"] is not None:
            checked += 1
            blocked_until[key] = (at + _seconds(entry["retryAfter"]), "poll" if submitted else "submit")
    return checked, early


def _seconds(value: str) -> timedelta:
    return timedelta(seconds=float(value))


def test_runs_end_as_without_faults_and_no_request_beats_its_retry_after(tmp_path):
    with scaled_stack(tmp_path, SCALE) as (simulation, devhost):
        started = time.monotonic()
        baseline = _run_all(devhost, "clean")
        clean_seconds = time.monotonic() - started
        servers = simulation.servers
        for server in servers.values():
            server.reset()  # zero the counters and the request log of the clean runs
            server.faults.retry_after, server.faults.seconds = RETRY_AFTER, SLOW_SECONDS
            server.faults.configure(rate=RATE, seed=SEED, kinds=KINDS)
        faulted = _run_all(devhost, "faulty")
        faulty_seconds = time.monotonic() - started - clean_seconds
        for server in servers.values():
            server.faults.configure(rate=0.0)
        stats = {name: server.stats() for name, server in servers.items()}
        logs = {name: server.request_log() for name, server in servers.items()}

    clean_shapes = {run_id.split("-", 2)[2]: _shape(run) for run_id, run in baseline.items()}
    different = [{"run": run_id, "withFaults": _shape(run), "without": clean_shapes[run_id.split("-", 2)[2]]}
                 for run_id, run in faulted.items() if _shape(run) != clean_shapes[run_id.split("-", 2)[2]]]
    wrong = [{"run": run_id, "status": run["status"], "error": run["error"]} for run_id, run in faulted.items()
             if run["status"] not in TERMINAL or run["status"] != CATALOG[run_id.split("-", 2)[2]][1]]
    checked, early = 0, []
    markers = {run_id for run_id in faulted} | {run["remoteRunId"] for run in faulted.values() if run["remoteRunId"]}
    for log in logs.values():
        n, found = _early_retries(log, markers)
        checked, early = checked + n, early + found
    by_kind: Counter[str] = Counter()
    for stat in stats.values():
        by_kind.update(stat["faultsByKind"])
    remote_ids = Counter(run["remoteRunId"] for run in faulted.values() if run["remoteRunId"])
    created = sum(stat["remoteJobsCreated"] for stat in stats.values())
    # Gaps this test found once (outputs lost on a faulted read, submits retried before their Retry-After,
    # SubmitFailed after five faulted attempts); fixed in orchestrators/poll_loop.py (_call_retrying) and
    # kept as named checks so a regression says which one came back.
    gaps = {
        "outputsLost": [d["run"] for d in different if d["withFaults"][0] == "Success" == d["without"][0]
                        and set(d["withFaults"][3]) < set(d["without"][3])],
        "submitFailed": [w["run"] for w in wrong if (w["error"] or {}).get("code") == "SubmitFailed"],
        "submitRetriedBeforeRetryAfter": [e["path"] for e in early if e["phase"] == "submit"],
    }
    figures = write_figures("faults", {
        "seed": SEED, "rate": RATE, "kinds": KINDS, "retryAfterSeconds": RETRY_AFTER, "runs": len(faulted),
        "requests": sum(stat["requestsTotal"] for stat in stats.values()),
        "faultsInjected": sum(by_kind.values()), "faultsByKind": dict(by_kind),
        "runsEndingDifferently": different, "retryAftersChecked": checked,
        "requestsBeforeRetryAfter": dict(Counter(e["phase"] for e in early)),
        "earlyExamples": early[:5], "remoteJobsCreated": created,
        "duplicateRemoteJobs": created - len(remote_ids) + sum(n - 1 for n in remote_ids.values()),
        "lostRuns": 0, "wrongStatus": wrong,
        "knownGaps": {name: len(items) for name, items in gaps.items()},
        "remoteJobsRunningAtEnd": sum(stat["runningNow"] for stat in stats.values()),
        "wallSeconds": {"clean": round(clean_seconds, 1), "faulty": round(faulty_seconds, 1)},
    })
    assert figures["faultsInjected"] > 0 and figures["retryAftersChecked"] > 0
    assert figures["duplicateRemoteJobs"] == 0 and figures["remoteJobsRunningAtEnd"] == 0
    for kind in KINDS:
        assert by_kind[kind] > 0, f"no {kind} fault was drawn"
    assert early == [], "a request was sent before its Retry-After passed"
    assert {name: items for name, items in gaps.items() if items} == {}
    assert wrong == [] and different == []
