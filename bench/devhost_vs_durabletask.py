"""devhost's throughput beside durabletask's in-memory test backend, on the same monitor shape.

Both run N orchestrations of P polls each: a durable timer, then a status activity, then a custom status
update, in a loop (bench/monitor_app). devhost runs on the virtual clock and persists every event to SQLite;
durabletask's backend (durabletask.testing, a gRPC sidecar in this process) has real-time timers only, so
its timers are 1 ms (reference/durable-functions.md §3): what is measured is the machinery, not the wait.
Throughput is polls per wall second. durabletask is a benchmark-only dependency (bench/requirements.txt);
without it the script says so and fails.

    python bench/devhost_vs_durabletask.py [--instances 300] [--polls 30] [--target 1.5]
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verdict import verdict  # noqa: E402

from devhost.host import DevHost  # noqa: E402
from devkit.clock import VirtualClock  # noqa: E402

APP = Path(__file__).resolve().parent / "monitor_app"


def run_devhost(instances: int, polls: int) -> float:
    """Wall seconds for devhost (virtual clock, SQLite) to run every orchestration to its end."""
    with tempfile.TemporaryDirectory() as tmp:
        host = DevHost(APP, db_path=f"{tmp}/bench.sqlite", clock=VirtualClock())
        ids = [f"m{i:05d}" for i in range(instances)]
        began = time.perf_counter()
        host.start()
        try:
            for iid in ids:
                host.start_new("monitor", iid, str(polls))
            for iid in ids:
                done = host.wait_for(iid, timeout=900)
                assert done.output == polls, done.output
            return time.perf_counter() - began
        finally:
            host.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_durabletask(instances: int, polls: int, timer: timedelta) -> float:
    """Wall seconds for durabletask's in-memory backend and worker to run the same shape."""
    from durabletask import client as dt_client
    from durabletask import worker as dt_worker
    from durabletask.testing import create_test_backend

    def check(ctx, n: int) -> str:
        return "running" if n % 7 else "queued"

    def monitor(ctx, count: int):
        for n in range(count):
            yield ctx.create_timer(timer)
            state = yield ctx.call_activity(check, input=n)
            ctx.set_custom_status({"polls": n + 1, "state": state})
        return count

    port = _free_port()
    backend = create_test_backend(port=port)
    address = f"localhost:{port}"
    worker = dt_worker.TaskHubGrpcWorker(host_address=address)
    worker.add_orchestrator(monitor)
    worker.add_activity(check)
    worker.start()
    client = dt_client.TaskHubGrpcClient(host_address=address)
    try:
        began = time.perf_counter()
        ids = [client.schedule_new_orchestration(monitor, input=polls, instance_id=f"m{i:05d}")
               for i in range(instances)]
        for iid in ids:
            state = client.wait_for_orchestration_completion(iid, timeout=900)
            assert state is not None and state.runtime_status == dt_client.OrchestrationStatus.COMPLETED, state
        return time.perf_counter() - began
    finally:
        worker.stop()
        backend.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--polls", type=int, default=30)
    parser.add_argument("--timer-ms", type=float, default=1.0)
    parser.add_argument("--target", type=float, default=1.5)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    total = args.instances * args.polls
    try:
        import durabletask.testing  # noqa: F401
    except ImportError:
        print("| durabletask | unavailable (pip install -r bench/requirements.txt) |")
        print("TARGET NOT CHECKED: durabletask is not installed", file=sys.stderr)
        return 1
    dt_seconds = run_durabletask(args.instances, args.polls, timedelta(milliseconds=args.timer_ms))
    dh_seconds = run_devhost(args.instances, args.polls)
    ratio = (total / dh_seconds) / (total / dt_seconds)
    print(f"| host | {args.instances} orchestrations x {args.polls} polls: wall time | polls/s |")
    print("|---|---|---|")
    print(f"| durabletask in-memory backend ({args.timer_ms:g} ms real timers) | {dt_seconds:.2f} s | "
          f"{total / dt_seconds:.0f} |")
    print(f"| devhost (virtual clock, SQLite) | {dh_seconds:.2f} s | {total / dh_seconds:.0f} |")
    print(f"| throughput ratio devhost / durabletask | {ratio:.2f}x (target >= {args.target:g}x) | |")
    return verdict(["devhost / durabletask throughput"] if ratio < args.target else [])


if __name__ == "__main__":
    sys.exit(main())
