"""Shared by the reliability tests: the catalog of runs, the simulator truth, and the figures file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

from devkit.clock import ScaledClock
from simulators.embedded import Simulation, start_simulation
from simulators.foundry_agents import ECHO_AGENT, SLOW_AGENT
from simulators.server import SimServer

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
TERMINAL = ("Success", "Failed", "Cancelled")

# kind -> (request body without runId, the status the simulator's catalog makes it end with)
CATALOG: dict[str, tuple[dict[str, Any], str]] = {
    "aml-train": ({"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline",
                   "parameters": [{"name": "learning_rate", "value": "0.05", "direction": "Input"},
                                  {"name": "model_uri", "direction": "Output"}]}, "Success"),
    "aml-long": ({"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "long-pipeline",
                  "parameters": []}, "Success"),
    "aml-fail": ({"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "failing-pipeline",
                  "parameters": []}, "Failed"),
    "agent-echo": ({"jobType": "foundry_agent", "connection": "foundry-sim", "job": ECHO_AGENT,
                    "parameters": [{"name": "user_message", "value": "hello", "direction": "Input"},
                                   {"name": "response", "direction": "Output"}]}, "Success"),
    "agent-slow": ({"jobType": "foundry_agent", "connection": "foundry-sim", "job": SLOW_AGENT,
                    "parameters": [{"name": "user_message", "value": "think", "direction": "Input"},
                                   {"name": "response", "direction": "Output"}]}, "Success"),
    "abacus-train": ({"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simtrain01",
                      "parameters": [{"name": "learning_rate", "value": "0.05", "direction": "Input"},
                                     {"name": "epochs", "value": 3, "direction": "Input"},
                                     {"name": "model_id", "direction": "Output"}]}, "Success"),
    "abacus-fail": ({"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simfail01",
                     "parameters": [{"name": "model_id", "direction": "Output"}]}, "Failed"),
}
PLATFORM_OF = {"azureml_pipeline": "azure_ml", "foundry_agent": "foundry_agents", "abacus_pipeline": "abacus"}


def request_for(kind: str, run_id: str, index: int = 0) -> dict[str, Any]:
    """The catalog request of `kind` for `run_id`. Abacus runs get a learning rate of their own: a version
    carries no tag, so runbridge tells two runs' versions apart by their variables (platforms/abacus/client.py
    says it cannot tell apart same-variable runs started moments apart on different hosts)."""
    body = json.loads(json.dumps(CATALOG[kind][0]))
    if body["jobType"] == "abacus_pipeline":
        body["parameters"] = [p for p in body["parameters"] if p["name"] != "learning_rate"]
        body["parameters"].append({"name": "learning_rate", "value": f"0.{index + 1:06d}", "direction": "Input"})
    return {**body, "runId": run_id}


def remote_status(servers: Mapping[str, SimServer], run: Mapping[str, Any]) -> str | None:
    """The simulator's own status of the run's remote job (None when it has none): the truth."""
    remote_id = run.get("remoteRunId")
    if not remote_id:
        return None
    server = servers[PLATFORM_OF[run["jobType"]]]
    platform: Any = server.platform
    now = platform.clock.now()
    with server._lock:
        if server.platform.name == "azure_ml":
            job = platform.jobs.get(remote_id)
            return None if job is None else job.status(now)
        if server.platform.name == "abacus":
            version = platform.versions.get(remote_id)
            return None if version is None else version.status(now)
        for thread in platform.threads.values():
            for remote_run in thread.runs:
                if remote_run.id in remote_id:
                    return remote_run.status(now)
    return None


def write_figures(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Print the figures and keep them in tests/artifacts/reliability-<name>.json (read by the README)."""
    figures = {"test": name, "measuredAt": datetime.now(timezone.utc).isoformat(timespec="seconds"), **figures}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"reliability-{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"\n[reliability:{name}] " + json.dumps(figures, sort_keys=True))
    return figures


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DevhostProcess:
    """`python -m devhost serve` in a subprocess that the test can SIGKILL and restart on the same db."""

    def __init__(self, db: Path, env: dict[str, str], origin: datetime, log: Path, scale: float) -> None:
        self.scale = scale
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db, self.env, self.origin, self.log = db, env, origin, log
        self.process: subprocess.Popen | None = None
        self.ready = threading.Event()
        self.restarts: list[float] = []

    def start(self, extra_env: Mapping[str, str] | None = None) -> None:
        """Start devhost (with `extra_env` on top of the stack's environment) and wait until it answers, or
        until a crash point it is armed with kills it first (`wait_exit` then reports that at once)."""
        command = [sys.executable, "-m", "devhost", "serve", "--app", str(ROOT), "--port", str(self.port),
                   "--db", str(self.db), "--clock", "real", "--time-scale", str(self.scale),
                   "--time-origin", self.origin.isoformat()]
        started = time.monotonic()
        with self.log.open("a") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **(extra_env or {})}, stdout=out,
                                            stderr=subprocess.STDOUT)
        deadline = started + 60
        while time.monotonic() < deadline:
            if self.process.poll() == -signal.SIGKILL and "crash point" in self.log.read_text()[-3000:]:
                return
            assert self.process.poll() is None, f"devhost exited: {self.log.read_text()[-3000:]}"
            try:
                if requests.get(f"{self.url}/api/connections", timeout=2).status_code == 200:
                    self.restarts.append(time.monotonic() - started)
                    self.ready.set()
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError("devhost did not become ready in 60 s")

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code once devhost has ended by itself (a crash point), None if it runs on past `timeout`."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.ready.clear()
        return code

    def kill(self) -> None:
        self.ready.clear()
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def call(devhost: DevhostProcess, method: str, path: str, deadline: float, **kwargs: Any) -> requests.Response:
    """One API call that survives kills: a dropped connection or a 5xx is retried once devhost is back."""
    while True:
        devhost.ready.wait(timeout=max(0.0, deadline - time.monotonic()))
        try:
            response = requests.request(method, f"{devhost.url}{path}", timeout=10, **kwargs)
            if response.status_code < 500:
                return response
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{method} {path} did not get through before the deadline")
        time.sleep(0.05)


def wait_runs(devhost: DevhostProcess, run_ids: list[str], deadline: float) -> dict[str, dict[str, Any]]:
    """Poll the public API until every run has ended or the deadline passes; the ended runs."""
    runs: dict[str, dict[str, Any]] = {}
    while len(runs) < len(run_ids) and time.monotonic() < deadline:
        for run_id in sorted(set(run_ids) - runs.keys()):
            run = call(devhost, "GET", f"/api/runs/{run_id}", deadline).json()
            if run.get("status") in TERMINAL and run.get("endedAt"):
                runs[run_id] = run
        time.sleep(0.1)
    return runs


@contextmanager
def scaled_stack(tmp_path: Path, scale: float, first_env: Mapping[str, str] | None = None,
                 simulator_options: Mapping[str, Any] | None = None) -> Iterator[tuple[Simulation, DevhostProcess]]:
    """The simulators in this process on `ScaledClock(scale, origin)` (with `simulator_options` per platform),
    devhost in a subprocess on `--clock real --time-scale scale --time-origin origin`, its connections pointing
    at them (its first start with `first_env` added, such as a crash point)."""
    origin = datetime.now(timezone.utc).replace(microsecond=0)
    settings: dict[str, str] = {}
    simulation = start_simulation(ScaledClock(scale, origin), settings,
                                  ports={"azure_ml": 0, "foundry_agents": 0, "abacus": 0},
                                  only=("azure_ml", "foundry_agents", "abacus"), **(simulator_options or {}))
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("CONNECTIONS__") and k != "AzureWebJobsStorage"}
    env.update(settings)
    env["PYTHONUNBUFFERED"] = "1"
    devhost = DevhostProcess(tmp_path / "devhost.sqlite", env, origin, tmp_path / "devhost.log", scale)
    try:
        devhost.start(first_env)
        yield simulation, devhost
    finally:
        devhost.stop()
        simulation.stop()
