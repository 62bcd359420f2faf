"""`make demo`: run a job end to end on the embedded default (devhost, virtual clock), printing each change.

Until the first job type lands, the job is the benchmark's monitor-style orchestration (a durable timer
and a status activity in a loop), driven through devhost's HTTP API with the real Durable client.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import requests

from core.clock import VirtualClock
from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor

APP = Path(__file__).resolve().parent / "bench" / "monitor_app"


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        host = DevHost(APP, db_path=f"{tmp}/demo.sqlite", clock=VirtualClock())
        front = HttpFrontDoor(host, port=0)
        host.start()
        front.start()
        try:
            base = f"{front.base_url}/durabletask"
            started = requests.post(f"{base}/orchestrators/monitor/demo-run", json=12, timeout=10)
            print(f"started demo-run: HTTP {started.status_code}")
            last = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = requests.get(f"{base}/instances/demo-run", timeout=10).json()
                view = (status["runtimeStatus"], status.get("customStatus"))
                if view != last:
                    print(f"  {host.clock.now():%H:%M:%S} simulated  {status['runtimeStatus']:<9} "
                          f"{status.get('customStatus')}")
                    last = view
                if status["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
                    print(f"finished: {status['runtimeStatus']}, output {status['output']}")
                    return 0 if status["runtimeStatus"] == "Completed" else 1
                time.sleep(0.01)
            print("demo did not finish in time", file=sys.stderr)
            return 1
        finally:
            front.stop()
            host.stop()


if __name__ == "__main__":
    sys.exit(main())
