"""Record episodes of real runs (devhost + simulators, virtual clock) as replay fixtures.

Each fixture is one orchestrator episode as the host sent it (`context`: the history JSON the SDK handle
read) and what the code of that day answered (`result`: its actions, custom status, done flag). The replay
test (tests/replay/test_recorded.py) feeds every context to today's orchestrators and checks they make the
same decisions: runs in flight across a deploy keep working.

Run from the repository root on the commit whose behaviour is to be kept (a copy of that commit's tree will
do: `git archive <commit> | tar -x -C <dir>`, then this file into it):
`.venv/bin/python -m tests.replay.recorded.record` (writes tests/replay/recorded/*.json; ~20 s).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from devhost import episode
from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor

try:
    from devkit.clock import VirtualClock
except ImportError:  # a commit from before the clock moved to devkit/
    from core.clock import VirtualClock  # type: ignore[no-redef]
from platforms import registry
from simulators.embedded import start_simulation
from simulators.foundry_agents import SLOW_AGENT
from tests.e2e.conftest import EPOCH, ROOT

HERE = Path(__file__).resolve().parent
Episode = dict[str, Any]


def _capture() -> list[Episode]:
    """Wrap devhost's call into the SDK handle so every episode's context and answer are kept."""
    seen: list[Episode] = []
    original = episode._invoke

    def invoke(handler: Callable[[str], str], inst: episode.Instance, history: list[dict[str, Any]]) -> Any:
        result = original(handler, inst, history)
        context = {"history": history, "input": episode._context_input(inst.input), "instanceId": inst.instance_id,
                   "isReplaying": False, "parentInstanceId": inst.parent_instance_id, "upperSchemaVersion": 1,
                   "upperSchemaVersionNew": 2}
        seen.append({"orchestrator": inst.name, "context": json.loads(json.dumps(context)), "result": result})
        return result

    episode._invoke = invoke
    return seen


def _polls(item: Episode) -> int:
    """Activity calls in the episode's history (polls; submit attempts for a run waiting to submit)."""
    return sum(1 for e in item["context"]["history"] if e.get("EventType") == 4)


def _continued(item: Episode) -> bool:
    data = json.loads(item["context"]["input"]) if isinstance(item["context"]["input"], str) else {}
    data = json.loads(data) if isinstance(data, str) else data
    return isinstance(data, dict) and (data.get("poll") is not None or bool(data.get("waiting")))


def _ends_with_continue(item: Episode) -> bool:
    return '"actionType": 4' in json.dumps(item["result"]).replace('"actionType":4', '"actionType": 4')


def pick(episodes: list[Episode], run_id: str) -> dict[str, Episode]:
    """Mid-run (first execution, a few polls in), the continue-as-new episode, and the continued execution's
    first and a later episode."""
    mine = [e for e in episodes if e["context"]["instanceId"] == run_id]
    first = [e for e in mine if not _continued(e)]
    later = [e for e in mine if _continued(e)]
    chosen: dict[str, Episode] = {}
    mid = [e for e in first if 3 <= _polls(e) <= 6 and not e["result"].get("isDone")]
    if mid:
        chosen["mid_run"] = mid[0]
    can = [e for e in mine if _ends_with_continue(e)]
    if can:
        chosen["continue_as_new"] = can[0]
    if later:
        chosen["continued_first"] = later[0]
        deeper = [e for e in later if 2 <= _polls(e) <= 5 and not e["result"].get("isDone")]
        if deeper:
            chosen["continued_mid"] = deeper[0]
    return chosen


def main() -> None:
    episodes = _capture()
    for key in [k for k in os.environ if k.upper().startswith("CONNECTIONS__")]:
        del os.environ[key]
    clock = VirtualClock(EPOCH)
    environ: dict[str, str] = {}
    simulation = start_simulation(clock, environ, ports={"azure_ml": 0, "foundry_agents": 0, "abacus": 0},
                                  only=("azure_ml", "foundry_agents", "abacus"))
    os.environ.update(environ)
    registry.reset()
    with tempfile.TemporaryDirectory() as tmp:
        host = DevHost(ROOT, db_path=str(Path(tmp) / "devhost.sqlite"), clock=clock)
        front = HttpFrontDoor(host, port=0)
        host.start()
        front.start()
        api = f"{front.base_url}/api"
        runs = {
            "azureml": {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "long-pipeline",
                        "runId": "rec-azureml", "parameters": [], "timeout": "PT12H"},
            "foundry": {"jobType": "foundry_agent", "connection": "foundry-sim", "job": SLOW_AGENT,
                        "runId": "rec-foundry", "parameters": [
                            {"name": "user_message", "value": "think", "direction": "Input"},
                            {"name": "response", "direction": "Output"}]},
            "abacus": {"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simtrain01",
                       "runId": "rec-abacus", "parameters": [
                           {"name": "learning_rate", "value": "0.05", "direction": "Input"},
                           {"name": "model_id", "direction": "Output"}], "timeout": "PT12H"},
        }
        try:
            host.set_time_limit(EPOCH + timedelta(seconds=30))
            for body in runs.values():
                assert requests.post(f"{api}/runs", json=body, timeout=30).status_code == 202
            _wait(lambda: requests.get(f"{api}/runs/rec-abacus", timeout=30).json().get("remoteRunId"))
            version = requests.get(f"{api}/runs/rec-abacus", timeout=30).json()["remoteRunId"]
            # hold the version RUNNING for three hours so its run continues as new (50 polls)
            pinned = requests.post(f"{simulation.servers['abacus'].url}/_sim/versions/{version}/status",
                                   json={"status": "RUNNING", "seconds": 3 * 3600}, timeout=10)
            assert pinned.status_code < 300, pinned.text
            # an agent run that waits for a busy thread (when_thread_busy=wait), long enough to continue as new
            def thread_of() -> str | None:
                return requests.get(f"{api}/runs/rec-foundry", timeout=30).json().get("outputs", {}).get("thread_id")

            _wait(thread_of)
            thread = thread_of()
            runs["foundry_wait"] = {"jobType": "foundry_agent", "connection": "foundry-sim", "job": SLOW_AGENT,
                                    "runId": "rec-foundry-wait", "parameters": [
                                        {"name": "user_message", "value": "after you", "direction": "Input"},
                                        {"name": "thread_id", "value": thread, "direction": "Input"},
                                        {"name": "when_thread_busy", "value": "wait", "direction": "Input"},
                                        {"name": "response", "direction": "Output"}]}
            assert requests.post(f"{api}/runs", json=runs["foundry_wait"], timeout=30).status_code == 202
            host.set_time_limit(None)
            for body in runs.values():
                _wait(lambda b=body: requests.get(f"{api}/runs/{b['runId']}", timeout=30).json()["status"]
                      in ("Success", "Failed", "Cancelled"), 120)
        finally:
            front.stop()
            host.stop()
            simulation.stop()
    for name, body in runs.items():
        chosen = pick(episodes, body["runId"])
        for moment, item in chosen.items():
            path = HERE / f"{name}_{moment}.json"
            path.write_text(json.dumps(item, separators=(",", ":")) + "\n")
            print(f"wrote {path.name} ({path.stat().st_size} bytes)")


def _wait(check: Callable[[], Any], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


if __name__ == "__main__":
    main()
