"""The Azure ML simulator and devhost running this repo's app on one VirtualClock, in this process.

Used by the benchmarks that run real azureml_pipeline runs (platform_load.py, scale.py, history.py); the
same wiring as tests/e2e/conftest.py. Runs start through `host.start_new` with the input the starter gives
(`RunInput.first(RunRequest.to_dict())`, as JSON text like the SDK client); the HTTP front door serves the
durable client binding the app's timer function (the orphan sweeper) needs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.protocol import RunInput  # noqa: E402
from core.run_request import RunRequest  # noqa: E402
from devhost.host import DevHost  # noqa: E402
from devhost.http_server import HttpFrontDoor  # noqa: E402
from devkit.clock import VirtualClock  # noqa: E402
from platforms import registry  # noqa: E402
from simulators.embedded import start_simulation  # noqa: E402

EPOCH = datetime(2026, 3, 1, tzinfo=timezone.utc)
ENDED = ("Completed", "Failed", "Terminated")


class SimStack:
    """devhost + the Azure ML simulator whose `long-pipeline` clones run `running_seconds`."""

    def __init__(self, db_path: str, running_seconds: float, events: dict[str, Any] | None = None) -> None:
        """`events`: wire the workspace's Event Grid events to the app (`events=eventgrid`), with these
        simulator fault options (`{"event_drop": 0.2}`...); None: polling only, as before."""
        for key in [k for k in os.environ if k.upper().startswith("CONNECTIONS__")]:
            del os.environ[key]
        self.clock = VirtualClock(EPOCH)
        self.events = events
        self.simulation = start_simulation(self.clock, os.environ, ports={"azure_ml": 0}, only=("azure_ml",),
                                           events=events is not None,
                                           azure_ml={"running_seconds": {"long-pipeline": running_seconds},
                                                     **(events or {})})
        self.server = self.simulation.servers["azure_ml"]
        registry.reset()
        self.host = DevHost(ROOT, db_path=db_path, clock=self.clock)
        self.front = HttpFrontDoor(self.host, port=0)

    def start(self) -> None:
        self.host.start()
        self.front.start()
        if self.events is not None:
            self.simulation.subscribe_events(f"{self.front.base_url}/runtime/webhooks/eventgrid"
                                             "?functionName=azureml_run_events")

    def start_run(self, run_id: str, timeout: str = "P3D") -> None:
        body = {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "long-pipeline",
                "parameters": [], "runId": run_id, "timeout": timeout, "startTimeout": "PT1H"}
        request = RunRequest.from_dict(body)
        self.host.start_new("azureml_pipeline", run_id, json.dumps(RunInput.first(request.to_dict()).to_dict()))

    def wait_all(self, run_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
        """The final run record of every run (raises if one has not ended within `timeout` real seconds)."""
        deadline, records = time.monotonic() + timeout, {}
        for run_id in run_ids:
            row = self.host.wait_for(run_id, timeout=max(1.0, deadline - time.monotonic()))
            if row.status not in ENDED:
                raise RuntimeError(f"run {run_id} did not end: {row.status}")
            record = row.output if isinstance(row.output, dict) else json.loads(row.output)
            records[run_id] = {**record, "shownAt": row.updated}  # when the host stored the final status
        return records

    def remote_ended_at(self, remote_run_id: str) -> datetime | None:
        return self.server.platform.jobs[remote_run_id].ended_at(self.clock.now())

    def requests_by_operation(self) -> dict[str, int]:
        return dict(self.server.stats().get("requestsByOperation", {}))

    def status_reads(self, remote_run_id: str) -> int:
        """Jobs_Get requests the simulator received for this job."""
        return int(self.server.stats().get("statusReadsByJob", {}).get(remote_run_id, 0))

    def stop(self) -> None:
        try:
            self.simulation.stop()  # first: no event is in flight to a host that is going away
        finally:
            self.front.stop()
            self.host.stop()
            registry.reset()
