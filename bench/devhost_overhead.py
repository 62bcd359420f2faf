"""devhost's wall time for monitor-style orchestrations beside the SDK's own replay cost (target: at most 2x).

The floor replays exactly the histories devhost produced, episode by episode, through the same SDK
orchestrator handle with no host at all (no storage, no threads, no JSON building: the context text
is prepared before the clock starts). Both are measured in this one run, so the ratio is what counts.

    python bench/devhost_overhead.py [--instances 1000] [--polls 10] [--target 2.0]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verdict import verdict  # noqa: E402

from devhost import sdk_speedups  # noqa: E402
from devhost.history import EventType  # noqa: E402
from devhost.host import DevHost  # noqa: E402
from devkit.clock import VirtualClock  # noqa: E402

APP = Path(__file__).resolve().parent / "monitor_app"


def run_host(instances: int, polls: int, db_dir: str) -> tuple[float, DevHost]:
    host = DevHost(APP, db_path=f"{db_dir}/bench.sqlite", clock=VirtualClock())
    ids = [f"m{i:05d}" for i in range(instances)]
    began = time.perf_counter()
    host.start()
    for iid in ids:
        host.start_new("monitor", iid, str(polls))
    for iid in ids:
        done = host.wait_for(iid, timeout=600)
        assert done.output == polls, done.output
    return time.perf_counter() - began, host


def episode_contexts(host: DevHost, instance_id: str) -> list[str]:
    """The context text of every episode the instance went through, rebuilt from its event log."""
    inst = host.get(instance_id)
    history = host.store.history(instance_id)
    ends = [i + 1 for i, e in enumerate(history) if e["EventType"] == EventType.OrchestratorCompleted]
    contexts = []
    for end in ends:
        events = [{**e, "IsPlayed": False} if i >= end - 1 else e for i, e in enumerate(history[:end])]
        contexts.append(json.dumps({"history": events, "input": inst.input, "instanceId": instance_id,
                                    "isReplaying": False, "parentInstanceId": None,
                                    "upperSchemaVersion": 1, "upperSchemaVersionNew": 2}))
    return contexts


def run_floor(host: DevHost, instance_ids: list[str]) -> tuple[float, int]:
    handler = host.app.orchestrators["monitor"].callable
    contexts = [c for iid in instance_ids for c in episode_contexts(host, iid)]
    sdk_speedups.uninstall()  # the floor is the SDK's own replay, as the Functions host runs it
    try:
        began = time.perf_counter()
        for context in contexts:
            handler(context)
        return time.perf_counter() - began, len(contexts)
    finally:
        sdk_speedups.install()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=10)
    parser.add_argument("--target", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        host_seconds, host = run_host(args.instances, args.polls, tmp)
        try:
            ids = [f"m{i:05d}" for i in range(args.instances)]
            floor_seconds, episodes = run_floor(host, ids)
        finally:
            host.stop()
    ratio = host_seconds / floor_seconds
    print(f"| measure | {args.instances} orchestrations x {args.polls} polls |")
    print("|---|---|")
    print(f"| devhost wall time | {host_seconds:.2f} s ({episodes / host_seconds:.0f} episodes/s) |")
    print(f"| SDK replay floor (same {episodes} episodes, no host) | {floor_seconds:.2f} s |")
    print(f"| ratio devhost / floor | {ratio:.2f}x (target <= {args.target:g}x) |")
    return verdict(["devhost / floor"] if ratio > args.target else [])


if __name__ == "__main__":
    sys.exit(main())
