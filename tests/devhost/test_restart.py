"""A killed host resumes every instance where its SQLite log left it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests

from devkit.clock import VirtualClock

from .conftest import EPOCH, ROOT_DIR, SAMPLE_APP, close, serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(db: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SAMPLE_APP_LOG": str(log), "PYTHONPATH": str(ROOT_DIR)}
    return subprocess.Popen(
        [sys.executable, "-m", "devhost", "serve", "--app", str(SAMPLE_APP), "--port", str(port), "--db", str(db),
         "--clock", "real", "--time-scale", "600"],
        cwd=ROOT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def status(port: int, instance_id: str):
    try:
        response = requests.get(f"http://127.0.0.1:{port}/durabletask/instances/{instance_id}", timeout=2)
    except requests.ConnectionError:
        return None
    return response.json() if response.status_code in (200, 202) else None


def test_sigkill_mid_activity_then_restart_runs_the_activity_again_and_finishes(tmp_path):
    db, log, port = tmp_path / "host.sqlite", tmp_path / "activity.log", free_port()
    host = launch(db, port, log)
    try:
        wait_until(lambda: status(port, "nothing") is None and _listening(port), 20, "host to listen")
        started = requests.post(f"http://127.0.0.1:{port}/durabletask/orchestrators/slow_work/killme",
                                json=0.6, timeout=5)
        assert started.status_code == 202
        wait_until(lambda: log.exists() and log.read_text().count("slow-start") == 1, 10, "first activity")
        host.send_signal(signal.SIGKILL)  # mid-activity: its result was never stored
        host.wait(10)
        host = launch(db, port, log)
        final = wait_until(lambda: (s := status(port, "killme")) and s["runtimeStatus"] == "Completed" and s,
                           30, "instance to complete after restart")
        assert final["output"] == ["slow done", "slow done"]
        # at-least-once: the killed invocation ran again, then the second activity ran
        assert log.read_text().count("slow-start") == 3
    finally:
        host.kill()
        host.wait(10)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_a_restarted_virtual_clock_resumes_from_the_log_and_timers_keep_their_time(tmp_path):
    db = str(tmp_path / "host.sqlite")
    first = serve(SAMPLE_APP, db, VirtualClock(EPOCH))
    first.host.set_time_limit(EPOCH + timedelta(hours=2))
    first.host.start_new("sleeper", "sleepy", "[1, 5]")
    first.host.wait_idle()
    assert first.host.get("sleepy").status == "Running"
    close(first)
    second = serve(SAMPLE_APP, db, VirtualClock(EPOCH))
    try:
        assert second.clock.now() >= EPOCH + timedelta(hours=1)
        done = second.wait("sleepy")
        assert [s[:19] for s in done.output] == ["2026-01-01T00:00:00", "2026-01-01T01:00:00",
                                                "2026-01-01T06:00:00"]
    finally:
        close(second)


def test_serve_simulate_runs_a_pipeline_through_the_public_api_and_delivers_its_events(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR)}
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "serve", "--port", str(port), "--db", str(tmp_path / "h.sqlite"),
         "--clock", "real", "--time-scale", "600", "--simulate", "--sim-ports", "0", "--event-sinks"],
        cwd=ROOT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        wait_until(lambda: _listening(port), 20, "host to listen")
        body = {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline", "runId": "cli-1"}
        assert requests.post(f"http://127.0.0.1:{port}/api/runs", json=body, timeout=10).status_code == 202
        run = wait_until(lambda: (r := requests.get(f"http://127.0.0.1:{port}/api/runs/cli-1", timeout=5).json())
                         and r["status"] in ("Success", "Failed", "Cancelled") and r, 30, "run to end")
        assert run["status"] == "Success" and run["outputs"]
        assert run["polls"] <= 15, run  # azureml-sim's Event Grid events woke it (~30 polls without them)
        sinks = next(line for line in lines if line.strip().startswith("events: webhook "))
        webhook, queues = sinks.split()[2], next(
            line for line in lines if "Queue service endpoint" in line).split()[-1]
        taken = wait_until(lambda: (d := requests.get(webhook, timeout=5).json()["deliveries"])
                           and d[-1]["event"]["data"]["status"] == "Success" and d, 30, "events at the webhook")
        assert all(d["verified"] for d in taken)
        assert [d["event"]["data"]["status"] for d in taken if d["event"]["type"].endswith("statusChanged")] == [
            "Starting", "Running", "Success"]
        queued = wait_until(lambda: len(q := peek(queues, "runbridge-events")) >= len(taken) and q,
                            30, "events on the embedded queue")
        assert [json.loads(m)["id"] for m in queued] == [d["id"] for d in taken]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        reader.join(5)
    output = "".join(lines)
    assert "simulator azure_ml: http://127.0.0.1:" in output
    assert "azureml_run_events: eventGridTrigger at http://127.0.0.1:" in output
    assert process.returncode == 0


def peek(endpoint: str, queue: str) -> list[str]:
    """The messages of a queue, through the storage SDK, as a scheduler reading the events queue would."""
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy

    from devhost.azure_queues import API_VERSION
    from devhost.queue_service import ACCOUNT, ACCOUNT_KEY

    connection = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                  f"QueueEndpoint={endpoint};")
    client = QueueClient.from_connection_string(connection, queue, api_version=API_VERSION,
                                                message_decode_policy=TextBase64DecodePolicy())
    return [m.content for m in client.peek_messages(max_messages=32)]
