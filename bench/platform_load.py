"""Platform load: status requests per azureml_pipeline run, and how late the run notices the job's end.

Each job length runs once, end to end (devhost + the Azure ML simulator on one virtual clock): the
`long-pipeline` template with its Running phase set to the length (simulator option `running_seconds`).
Polls are the run's own count; status requests are what the simulator received (each poll is one ARM GET,
plus one RunHistory read once the job has ended). Lag is the moment the host stored the run's final status
(virtual time) minus the remote job's end.
Targets: <= 40 polls for 2 h, <= 120 for 24 h, lag <= max(60 s, 5% of the run's elapsed time).
Anchor: Airflow's ADF operator polls every 60 s (120 polls for 2 h).

    python bench/platform_load.py [--lengths 10m,2h,24h]
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim_stack import SimStack
from verdict import verdict

TARGETS = {"2h": 40, "24h": 120}  # max polls per run
UNITS = {"m": 60, "h": 3600, "d": 86400}
STATUS_READS = ("Jobs_Get", "Runs_GetDetails")


def seconds_of(length: str) -> float:
    return float(length[:-1]) * UNITS[length[-1]]


def lag_floor(running: float, first: float = 60.0, fraction: float = 0.05) -> int:
    """The fewest polls any policy needs over `running` s if every end must be seen within max(1 min, 5%)."""
    flat = min(running, first / fraction)
    grown = math.log(running / flat) / math.log(1 + fraction) if running > flat else 0.0
    return math.ceil(flat / first + grown)


def measure(length: str) -> dict[str, float]:
    running = seconds_of(length)
    with tempfile.TemporaryDirectory() as tmp:
        stack = SimStack(f"{tmp}/devhost.sqlite", running)
        stack.start()
        try:
            stack.start_run("load-1")
            run = stack.wait_all(["load-1"], timeout=600)["load-1"]
            remote_end = stack.remote_ended_at(run["remoteRunId"])
            reads = stack.requests_by_operation()
        finally:
            stack.stop()
    assert run["status"] == "Success", run
    created, ended = (datetime.fromisoformat(run[k].replace("Z", "+00:00")) for k in ("createdAt", "shownAt"))
    return {"running": running, "polls": run["polls"], "reads": sum(reads.get(op, 0) for op in STATUS_READS),
            "lag": (ended - remote_end).total_seconds(), "elapsed": (remote_end - created).total_seconds()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="10m,2h,24h", help="comma-separated job lengths: 10m, 2h, 1d...")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    missed = []
    print("| job running for | polls | status requests | lag | lag target | polls target | "
          "fewest polls any policy needs for that lag |")
    print("|---|---|---|---|---|---|---|")
    for length in args.lengths.split(","):
        m = measure(length)
        lag_target = max(60.0, 0.05 * m["elapsed"])
        polls_target = TARGETS.get(length)
        print(f"| {length} | {m['polls']} | {m['reads']} | {m['lag']:.0f} s | <= {lag_target:.0f} s | "
              f"{'<= ' + str(polls_target) if polls_target else '-'} | {lag_floor(m['running'])} |")
        if m["lag"] > lag_target:
            missed.append(f"{length} lag")
        if polls_target is not None and m["polls"] > polls_target:
            missed.append(f"{length} polls")
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
