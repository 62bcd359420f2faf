"""The whole stack on one virtual clock: the simulators, devhost running this repo's app, the HTTP API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor
from devkit.clock import VirtualClock
from platforms import registry
from simulators.embedded import start_simulation

ROOT = Path(__file__).resolve().parent.parent.parent
EPOCH = datetime(2026, 3, 1, tzinfo=timezone.utc)
TERMINAL = ("Success", "Failed", "Cancelled")
SIMULATED = ("azure_ml", "foundry_agents", "abacus")


class Stack:
    """Handles on the running stack, with helpers that speak the public HTTP API."""

    def __init__(self, host: DevHost, front: HttpFrontDoor, simulation: Any, clock: VirtualClock) -> None:
        self.host, self.front, self.simulation, self.clock = host, front, simulation, clock
        self.api = f"{front.base_url}/api"

    def sim(self, platform: str) -> str:
        return self.simulation.servers[platform].url

    def sim_stats(self, platform: str) -> dict[str, Any]:
        return requests.get(f"{self.sim(platform)}/_sim/stats", timeout=10).json()

    def script_faults(self, platform: str, faults: Any) -> None:
        response = requests.post(f"{self.sim(platform)}/_sim/faults", json=faults, timeout=10)
        assert response.status_code < 300, response.text

    def post_run(self, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.api}/runs", json=body, timeout=30)

    def get_run(self, run_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.api}/runs/{run_id}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_run(self, run_id: str, timeout: float = 60) -> dict[str, Any]:
        """Wait until the run ends (real seconds; the virtual clock runs meanwhile), then read it through the
        public API. The wait watches the host's store, not the API: polling the API meanwhile would take the
        CPU the run needs."""
        try:
            self.host.wait_for(run_id, timeout)
        except TimeoutError:
            raise AssertionError(f"run {run_id} did not end: {self.get_run(run_id)}") from None
        run = self.get_run(run_id)
        assert run["status"] in TERMINAL, run
        return run

    def pause_at(self, offset: timedelta) -> None:
        """Stop virtual time at EPOCH + offset (it runs again with resume())."""
        self.host.set_time_limit(EPOCH + offset)

    def resume(self) -> None:
        self.host.set_time_limit(None)


@pytest.fixture
def stack(tmp_path, monkeypatch) -> Iterator[Stack]:
    for key in [k for k in os.environ if k.upper().startswith("CONNECTIONS__")]:
        monkeypatch.delenv(key)
    clock = VirtualClock(EPOCH)
    environ: dict[str, str] = {}
    simulation = start_simulation(clock, environ, ports={"azure_ml": 0, "foundry_agents": 0, "abacus": 0},
                                  only=SIMULATED)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    registry.reset()
    host = DevHost(ROOT, db_path=str(tmp_path / "devhost.sqlite"), clock=clock)
    front = HttpFrontDoor(host, port=0)
    host.start()
    front.start()
    stack = Stack(host, front, simulation, clock)
    try:
        yield stack
    finally:
        front.stop()
        host.stop()
        simulation.stop()
        registry.reset()


def train_request(run_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline", "runId": run_id,
            "parameters": [{"name": "learning_rate", "value": "0.05", "direction": "Input"},
                           {"name": "epochs", "value": 3, "direction": "Input"},
                           {"name": "model_uri", "direction": "Output"},
                           {"name": "accuracy", "direction": "Output"}]}
    body.update(overrides)
    return body
