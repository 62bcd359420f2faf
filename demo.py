"""`make demo`: real runs on the embedded default, devhost + simulators, with time sped up 600 times.

Three azureml_pipeline runs go through the public HTTP API exactly as a scheduler would send them: one
that succeeds with its outputs written back, one that fails with the remote error shown, and one that is
cancelled while running. Each run's status changes are printed as they happen, with its monitor link.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from core.clock import ScaledClock
from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor
from simulators.embedded import start_simulation

ROOT = Path(__file__).resolve().parent
SPEED = 600  # one real second is ten simulated minutes
TERMINAL = ("Success", "Failed", "Cancelled")


def pipeline(run_id: str, job: str, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": job, "runId": run_id,
            "parameters": parameters or [], "timeout": "PT12H"}


RUNS = [
    (pipeline("demo-train", "train-pipeline", [
        {"name": "learning_rate", "value": "0.02", "direction": "Input"},
        {"name": "epochs", "value": 20, "direction": "Input"},
        {"name": "model_uri", "direction": "Output"},
        {"name": "accuracy", "direction": "Output"}]), None),
    (pipeline("demo-failing", "failing-pipeline"), None),
    (pipeline("demo-cancelled", "long-pipeline"), "cancel once Running"),
]


def watch(api: str, body: dict[str, Any], cancel_when_running: bool, clock: ScaledClock, lines: list[str],
          lock: threading.Lock) -> dict[str, Any]:
    """Start one run and print each change of its status until it ends."""
    run_id = body["runId"]
    response = requests.post(f"{api}/runs", json=body, timeout=30)
    response.raise_for_status()
    last: tuple[Any, ...] = ()
    cancelled = False
    while True:
        run = requests.get(f"{api}/runs/{run_id}", timeout=30).json()
        view = (run["status"], run["remoteStatus"])
        if view != last:
            with lock:
                print(f"  [{clock.now():%H:%M:%S} sim] {run_id:<15} {run['status']:<9} remote={run['remoteStatus']}",
                      flush=True)
            last = view
        if cancel_when_running and not cancelled and run["status"] == "Running":
            requests.post(f"{api}/runs/{run_id}/cancel", timeout=30).raise_for_status()
            with lock:
                print(f"  [{clock.now():%H:%M:%S} sim] {run_id:<15} cancel requested", flush=True)
            cancelled = True
        if run["status"] in TERMINAL:
            return run
        time.sleep(0.02)


def report(run: dict[str, Any]) -> None:
    print(f"\n{run['id']}: {run['status']}  ({run['polls']} polls, remote job {run['remoteRunId']})")
    print(f"  monitor: {run['monitorUrl']}")
    if run["error"]:
        print(f"  error:   {run['error']['code']}: {run['error']['message']}")
    for parameter in run["parameters"]:
        print(f"  {parameter['direction']:<11} {parameter['name']} = {parameter.get('value')}")


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    clock = ScaledClock(SPEED)
    with tempfile.TemporaryDirectory() as tmp:
        simulation = start_simulation(clock, os.environ, ports={"azure_ml": 0, "foundry_agents": 0, "abacus": 0})
        host = DevHost(ROOT, db_path=f"{tmp}/demo.sqlite", clock=clock)
        front = HttpFrontDoor(host, port=0)
        host.start()
        front.start()
        api = f"{front.base_url}/api"
        print(f"devhost at {front.base_url}, simulators {', '.join(simulation.servers)}, time x{SPEED}\n")
        results: dict[str, dict[str, Any]] = {}
        lock = threading.Lock()
        try:
            threads = [threading.Thread(target=lambda b=body, c=bool(cancel): results.__setitem__(
                b["runId"], watch(api, b, c, clock, [], lock))) for body, cancel in RUNS]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            for body, _ in RUNS:
                report(results[body["runId"]])
            expected = {"demo-train": "Success", "demo-failing": "Failed", "demo-cancelled": "Cancelled"}
            ok = all(results[k]["status"] == v for k, v in expected.items())
            stats = requests.get(f"{simulation.servers['azure_ml'].url}/_sim/stats", timeout=10).json()
            print(f"\nsimulator: {stats['remoteJobsCreated']} remote jobs created, {stats['runningNow']} still running")
            return 0 if ok else 1
        finally:
            front.stop()
            host.stop()
            simulation.stop()


if __name__ == "__main__":
    sys.exit(main())
