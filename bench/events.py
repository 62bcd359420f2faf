"""Run events: what pushing every status change costs, and how fast events go out.

The same N azureml_pipeline runs (Azure ML simulator `long-pipeline` clones of `--hours`, devhost on a virtual
clock, bench/sim_stack.py) run twice: with no sink configured, then with a signed webhook sink whose
receiver runs in this process. Reported: episodes and activity calls per run in both (delivery
orchestrations included), their ratio, events delivered per second of the second phase's wall time, and,
after dropping repeats by id, whether every run's events are exactly Starting -> Running -> outputs ->
Success with sequence 1..n. Targets: at most `--episodes-target` (1.3) x the episodes of the runs without
sinks; every run's sequence exact.

    python bench/events.py [--runs 1000] [--hours 2]
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim_stack import ROOT, SimStack
from verdict import verdict

sys.path.insert(0, str(ROOT))
from platforms.notify import registry as sinks
from simulators.webhook_receiver import WebhookReceiver

SECRET = "whsec_" + base64.b64encode(b"bench-secret-bench-secret-bench!").decode()
EXPECTED = [("statusChanged", "Starting"), ("statusChanged", "Running"), ("outputsWritten", "Success"),
            ("statusChanged", "Success")]


def phase(runs: int, hours: float, timeout: float, receiver: WebhookReceiver | None) -> dict[str, float]:
    """Run `runs` runs; the stack's episode and activity counts, wall seconds, and the receiver's events."""
    for key in [k for k in os.environ if k.upper().startswith("NOTIFY__")]:
        del os.environ[key]
    if receiver is not None:
        os.environ.update({"NOTIFY__hook__type": "webhook", "NOTIFY__hook__url": receiver.url,
                           "NOTIFY__hook__secret": SECRET})
    sinks.reset()
    with tempfile.TemporaryDirectory() as tmp:
        stack = SimStack(f"{tmp}/devhost.sqlite", hours * 3600)
        stack.start()
        try:
            ids = [f"ev-{i:05d}" for i in range(runs)]
            started = time.monotonic()
            for run_id in ids:
                stack.start_run(run_id)
            records = stack.wait_all(ids, timeout)
            if receiver is not None:  # the last events may still be on their way
                deadline = time.monotonic() + min(timeout, 120.0)
                while len({e["id"] for e in receiver.events()}) < runs * len(EXPECTED) and \
                        time.monotonic() < deadline:
                    time.sleep(0.05)
            stack.host.wait_idle(timeout)
            wall = time.monotonic() - started
            return {"episodes": stack.host.episodes, "activities": stack.host.activity_runs, "wall": wall,
                    "success": sum(1 for r in records.values() if r["status"] == "Success")}
        finally:
            stack.stop()


def exact_sequences(events: list[dict], runs: int) -> int:
    """How many runs got exactly the expected events, sequence 1..n, after dropping repeats by id."""
    by_run: dict[str, dict[str, dict]] = {}
    for event in events:
        by_run.setdefault(event["subject"], {})[event["id"]] = event
    exact = 0
    for got in by_run.values():
        ordered = sorted(got.values(), key=lambda e: e["sequence"])
        shape = [(e["type"].rsplit(".", 1)[1], e["data"]["status"]) for e in ordered]
        exact += shape == EXPECTED and [e["sequence"] for e in ordered] == list(range(1, len(EXPECTED) + 1))
    return exact


def peak_rate(receiver: WebhookReceiver) -> float:
    """Deliveries in the busiest one-second window (wall time)."""
    times = sorted(d["receivedAt"] for d in receiver.deliveries)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] > 1.0:
            start += 1
        best = max(best, end - start + 1)
    return float(best)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--episodes-target", type=float, default=1.3)
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    plain = phase(args.runs, args.hours, args.timeout, None)
    receiver = WebhookReceiver(SECRET).start()
    try:
        pushed = phase(args.runs, args.hours, args.timeout, receiver)
    finally:
        receiver.stop()
    events = receiver.events()
    unique = len({e["id"] for e in events})
    exact = exact_sequences(events, args.runs)
    unsigned = sum(1 for d in receiver.deliveries if d["verified"] is not None)
    ratio = pushed["episodes"] / plain["episodes"]
    print(f"| measure | {args.runs} runs x {args.hours:g} h, no sink | with a webhook sink | ratio |")
    print("|---|---|---|---|")
    print(f"| episodes per run | {plain['episodes'] / args.runs:.1f} | {pushed['episodes'] / args.runs:.1f} | "
          f"**{ratio:.2f}x** (target <= {args.episodes_target:g}x) |")
    print(f"| activity calls per run | {plain['activities'] / args.runs:.1f} | "
          f"{pushed['activities'] / args.runs:.1f} | {pushed['activities'] / plain['activities']:.2f}x |")
    print(f"| wall time | {plain['wall']:.1f} s | {pushed['wall']:.1f} s | {pushed['wall'] / plain['wall']:.2f}x |")
    print(f"| events delivered | | {len(events)} ({unique} distinct, {len(events) - unique} repeats) | |")
    print(f"| events delivered per second | | {len(events) / pushed['wall']:.0f} over the whole phase (as fast as the "
          f"runs make them); {peak_rate(receiver):.0f} in the busiest second | |")
    print(f"| runs with exactly Starting, Running, outputs, Success (seq 1..4) | | {exact} / {args.runs} | |")
    print(f"| signatures that failed the receiver's check | | {unsigned} | |")
    missed = []
    if ratio > args.episodes_target:
        missed.append(f"episodes ratio {ratio:.2f} > {args.episodes_target:g}")
    if exact != args.runs or plain["success"] != args.runs or pushed["success"] != args.runs or unsigned:
        missed.append("every run's events exact and signed")
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
