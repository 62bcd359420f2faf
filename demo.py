"""`make demo`: real runs on the embedded default, devhost + simulators, with time sped up 600 times.

Everything goes through the public HTTP API exactly as a scheduler would send it:
- three azureml_pipeline runs: one succeeds with its outputs written back, one fails with the remote
  error shown, one is cancelled while running;
- two abacus_pipeline runs: one succeeds with its model_id written back, one fails with the step's error;
- a chain of two foundry_agent runs, the second continuing the first one's thread (its thread_id input is
  bound to the first run's thread_id output), and one agent run cancelled while it works.
Each run's status changes are printed as they happen, with its monitor link. Then the events a scheduler
received for some of them, pushed by runbridge to a signed webhook (each signature checked by the small
receiver, simulators/webhook_receiver.py), to an Event Grid topic (the topic simulator) and to a storage
queue (devhost's embedded queue behind its Queue service endpoint). Last, one agent
run through the `runbridge` command line (cli/), as a scheduler's command job starts it, with its exit code.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from core.sinks import DEFAULT_QUEUE
from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor
from devhost.queue_service import QueueService
from devkit.clock import ScaledClock
from simulators.embedded import start_simulation
from simulators.event_sinks import EventSinks, start_event_sinks

ROOT = Path(__file__).resolve().parent
SPEED = 600  # one real second is ten simulated minutes
TERMINAL = ("Success", "Failed", "Cancelled")


def pipeline(run_id: str, job: str, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": job, "runId": run_id,
            "parameters": parameters or [], "timeout": "PT12H"}


def agent(run_id: str, agent_id: str, message: str) -> dict[str, Any]:
    return {"jobType": "foundry_agent", "connection": "foundry-sim", "job": agent_id, "runId": run_id,
            "parameters": [{"name": "user_message", "value": message, "direction": "Input"},
                           {"name": "thread_id", "direction": "InputOutput"},
                           {"name": "response", "direction": "Output"}]}


def abacus(run_id: str, pipeline_id: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": pipeline_id, "runId": run_id,
            "parameters": [*parameters, {"name": "model_id", "direction": "Output"}]}


ECHO_AGENT = "asst_echo00000000000000000000"
SLOW_AGENT = "asst_slow00000000000000000000"
CHAT = {"chainId": "demo-chat", "steps": [
    {"name": "ask", **{k: v for k, v in agent("x", ECHO_AGENT, "What is runbridge?").items() if k != "runId"}},
    {"name": "follow_up", "jobType": "foundry_agent", "connection": "foundry-sim", "job": ECHO_AGENT,
     "parameters": [{"name": "user_message", "value": "And what does it run?", "direction": "Input"},
                    {"name": "thread_id", "direction": "InputOutput", "value": {"from": "ask", "output": "thread_id"}},
                    {"name": "response", "direction": "Output"}]},
]}

RUNS = [
    (pipeline("demo-train", "train-pipeline", [
        {"name": "learning_rate", "value": "0.02", "direction": "Input"},
        {"name": "epochs", "value": 20, "direction": "Input"},
        {"name": "model_uri", "direction": "Output"},
        {"name": "accuracy", "direction": "Output"}]), None),
    (pipeline("demo-failing", "failing-pipeline"), None),
    (pipeline("demo-cancelled", "long-pipeline"), "cancel once Running"),
    (agent("demo-agent-cancelled", SLOW_AGENT, "Think slowly about this."), "cancel once Running"),
    (abacus("demo-abacus-train", "simtrain01", [{"name": "learning_rate", "value": 0.05, "direction": "Input"},
                                                {"name": "epochs", "value": 8, "direction": "Input"}]), None),
    (abacus("demo-abacus-failing", "simfail01", []), None),
]


def watch(api: str, body: dict[str, Any], cancel_when_running: bool, clock: ScaledClock,
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
                print(f"  [{clock.now():%H:%M:%S} sim] {run_id:<20} {run['status']:<9} remote={run['remoteStatus']}",
                      flush=True)
            last = view
        if cancel_when_running and not cancelled and run["status"] == "Running":
            requests.post(f"{api}/runs/{run_id}/cancel", timeout=30).raise_for_status()
            with lock:
                print(f"  [{clock.now():%H:%M:%S} sim] {run_id:<20} cancel requested", flush=True)
            cancelled = True
        if run["status"] in TERMINAL:
            return run
        time.sleep(0.02)


def run_chain(api: str, lock: threading.Lock) -> dict[str, Any]:
    """Start the agent conversation chain and follow its steps until it ends."""
    requests.post(f"{api}/chains", json=CHAT, timeout=30).raise_for_status()
    last = None
    while True:
        chain = requests.get(f"{api}/chains/demo-chat", timeout=30).json()
        view = tuple(s["status"] for s in chain["steps"])
        if view != last:
            with lock:
                print(f"  chain demo-chat {chain['status']:<9} steps {', '.join(view)}", flush=True)
            last = view
        if chain["status"] in TERMINAL:
            return chain
        time.sleep(0.02)


def cli_run(base_url: str) -> int:
    """One run as a scheduler's command job runs it: `runbridge run ... --wait`; its exit code is the outcome."""
    argv = ["run", "foundry_agent", "foundry-sim", ECHO_AGENT, "-p", "user_message=Hello from a command job",
            "--output", "response", "--run-id", "demo-cli", "--wait", "--poll-interval", "0.5",
            "--max-poll-interval", "1", "--url", base_url]
    print(f"\n$ runbridge {' '.join(a if ' ' not in a else repr(a) for a in argv)}", flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "cli")}
    done = subprocess.run([sys.executable, "-m", "runbridge_cli", *argv], env=env, timeout=60)
    print(f"exit code {done.returncode}")
    return done.returncode


def report(run: dict[str, Any]) -> None:
    print(f"\n{run['id']}: {run['status']}  ({run['polls']} polls, remote job {run['remoteRunId']})")
    print(f"  monitor: {run['monitorUrl']}")
    if run["error"]:
        print(f"  error:   {run['error']['code']}: {run['error']['message']}")
    for parameter in run["parameters"]:
        print(f"  {parameter['direction']:<11} {parameter['name']} = {parameter.get('value')}")


def show_events(sinks: EventSinks, queue: QueueService, subjects: tuple[str, ...]) -> None:
    """The events a scheduler received, repeats dropped by id, in sequence order per run."""
    receiver, topic = sinks.receiver, sinks.topic
    wanted = {f"runs/{s}" for s in subjects} | {f"chains/{s}" for s in subjects}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(any(
            d["event"]["subject"] == w and d["event"]["data"]["status"] in TERMINAL
            and d["event"]["type"].endswith("statusChanged") for d in receiver.deliveries) for w in wanted):
        time.sleep(0.05)
    print(f"\nEvents at the scheduler's webhook ({len(receiver.deliveries)} deliveries; signature checked):")
    seen: dict[str, dict[str, Any]] = {}
    for delivery in receiver.deliveries:
        seen.setdefault(delivery["id"], delivery)
    for delivery in sorted(seen.values(), key=lambda d: (d["event"]["subject"], d["event"]["sequence"])):
        event = delivery["event"]
        if event["subject"] not in wanted:
            continue
        data = event["data"]
        change = f"{data.get('previousStatus') or '-'} -> {data['status']}" if "previousStatus" in data \
            else f"outputs written: {', '.join(data['outputs'])}"
        check = "signature ok" if delivery["verified"] is None else f"SIGNATURE REJECTED: {delivery['verified']}"
        print(f"  {event['id']:<16} {event['type']:<32} {change:<40} {check}")
    print(f"Event Grid topic: {len(topic.received)} events received "
          f"({len({e['id'] for e in topic.received})} distinct)")
    queued = [json.loads(m.body) for m in queue.host.queues.peek(DEFAULT_QUEUE)]
    print(f"Queue {DEFAULT_QUEUE} (devhost's embedded queue, written through its Queue service endpoint): "
          f"{len(queued)} events ({len({e['id'] for e in queued})} distinct)")


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    clock = ScaledClock(SPEED)
    with tempfile.TemporaryDirectory() as tmp:
        simulation = start_simulation(clock, os.environ, ports={"azure_ml": 0, "foundry_agents": 0, "abacus": 0})
        sinks = start_event_sinks(clock, os.environ, queue=True)
        host = DevHost(ROOT, db_path=f"{tmp}/demo.sqlite", clock=clock)
        queue = QueueService(host).start()  # the embedded queues as the app's storage account
        queue.use_as_app_storage(os.environ)
        front = HttpFrontDoor(host, port=0)
        host.start()
        front.start()
        api = f"{front.base_url}/api"
        print(f"devhost at {front.base_url}, simulators {', '.join(simulation.servers)}, time x{SPEED}\n")
        results: dict[str, dict[str, Any]] = {}
        lock = threading.Lock()
        try:
            threads = [threading.Thread(target=lambda b=body, c=bool(cancel): results.__setitem__(
                b["runId"], watch(api, b, c, clock, lock))) for body, cancel in RUNS]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            chain = run_chain(api, lock)
            for body, _ in RUNS:
                report(results[body["runId"]])
            print(f"\nchain {chain['id']}: {chain['status']}")
            for step in chain["steps"]:
                values = {p["name"]: p.get("value") for p in step["parameters"]}
                print(f"  step {step['name']:<10} {step['status']:<8} run {step['runId']}, "
                      f"thread {values.get('thread_id')}")
                print(f"    asked:   {values.get('user_message')}")
                print(f"    answer:  {values.get('response')}")
            expected = {"demo-train": "Success", "demo-failing": "Failed", "demo-cancelled": "Cancelled",
                        "demo-agent-cancelled": "Cancelled", "demo-abacus-train": "Success",
                        "demo-abacus-failing": "Failed"}
            ok = all(results[k]["status"] == v for k, v in expected.items()) and chain["status"] == "Success"
            ok = cli_run(front.base_url) == 0 and ok
            stats = requests.get(f"{simulation.servers['azure_ml'].url}/_sim/stats", timeout=10).json()
            print(f"\nAzure ML simulator: {stats['remoteJobsCreated']} jobs created, "
                  f"{stats['runningNow']} still running")
            stats = requests.get(f"{simulation.servers['foundry_agents'].url}/_sim/stats", timeout=10).json()
            print(f"Foundry simulator: {stats['runsCreated']} agent runs, {stats['activeRuns']} still active")
            show_events(sinks, queue, ("demo-train", "demo-cancelled", "demo-chat"))
            print("\nTo watch and start runs in a browser: `make serve`, then open http://127.0.0.1:7071/api/dashboard")
            return 0 if ok else 1
        finally:
            front.stop()
            host.stop()
            simulation.stop()
            queue.stop()
            sinks.stop()


if __name__ == "__main__":
    sys.exit(main())
