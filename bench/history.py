"""History: events per execution and episode replay time early and late in a 7-day azureml_pipeline run.

runbridge's loop continues-as-new every `polls_per_execution` polls, so an execution's history, and the
cost of replaying one episode of it, should not grow with the job's age. Measured on real runs (devhost +
the Azure ML simulator, virtual clock) of a 7-day job:
- with the product's policy (orchestrators/azureml_pipeline.POLICY): polls and events per execution;
- with the same orchestrator on a fixed 5-minute poll (2,000+ polls in 7 days, like a naive scheduler
  would): events per execution and the SDK's replay time of the episode after poll 10 and after poll 2,000.
Beside them, a naive loop (bench/monitor_app: timer + activity, no continue_as_new) replayed at poll 10
and poll 2,000 from histories built by tests/support/history.py: its replay time grows linearly.
Replay time is the SDK orchestrator handle's time on an episode's context (median of R calls, no host):
for runbridge the mean over every episode of the execution that made poll N (what an episode costs at
that age of the job), for the naive loop the episode right after poll N.
Targets: events per execution <= 300; replay time at poll 2,000 / at poll 10 <= 1.5.

    python bench/history.py [--days 7] [--late 2000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sim_stack import ROOT, SimStack  # noqa: E402
from verdict import verdict  # noqa: E402

from devhost.app_loader import load_app  # noqa: E402
from devhost.history import EventType  # noqa: E402
from tests.support.history import HistoryBuilder  # noqa: E402

FIXED = {"first_interval": 300.0, "growth": 1.0, "max_interval": 300.0, "elapsed_fraction": None}
"""The product policy with a fixed 5-minute interval (its continue-as-new and budgets unchanged)."""
EARLY = 10


def run_job(days: float, changes: dict[str, Any] | None, db: str) -> tuple[Any, list[tuple[str, list[dict]]], dict]:
    """Run one job of `days`; return the app, its executions' histories (oldest first) and the run record."""
    import orchestrators.azureml_pipeline as job_type

    product = job_type.POLICY
    job_type.POLICY = replace(product, **(changes or {}))
    stack = SimStack(db, days * 86400)
    stack.start()
    try:
        stack.start_run("history-1", timeout="P30D")
        record = stack.wait_all(["history-1"], timeout=1800)["history-1"]
        app = stack.host.app
    finally:
        stack.stop()
        job_type.POLICY = product
    executions: dict[str, list[dict]] = {}
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT execution_id, event FROM history WHERE instance_id=? ORDER BY seq",
                            ("history-1",)).fetchall()
    for execution_id, text in rows:
        executions.setdefault(execution_id, []).append(json.loads(text))
    return app, list(executions.items()), record


def execution_holding(executions: list[tuple[str, list[dict]]], poll: int) -> tuple[str, list[dict]] | None:
    """The execution in which poll number `poll` (1-based, counted over all executions) was made."""
    seen = 0
    for execution_id, events in executions:
        seen += sum(1 for e in events if e["EventType"] == EventType.TaskScheduled and e.get("Name") == "poll_run")
        if seen >= poll:
            return execution_id, events
    return None


def episode_contexts(events: list[dict]) -> list[str]:
    """The context of every episode of one execution, as the host sent it."""
    ends = [i + 1 for i, e in enumerate(events) if e["EventType"] == EventType.OrchestratorCompleted]
    return [_context(events[:end]) for end in ends]


def _context(events: list[dict]) -> str:
    started = next(i for i in range(len(events) - 1, -1, -1)
                   if events[i]["EventType"] == EventType.OrchestratorStarted)
    history = [{**e, "IsPlayed": i < started} for i, e in enumerate(events[:-1])]  # OrchestratorCompleted off
    first = next(e for e in events if e["EventType"] == EventType.ExecutionStarted)
    return json.dumps({"history": history, "input": first.get("Input"), "instanceId": "history-1",
                       "isReplaying": False, "parentInstanceId": None,
                       "upperSchemaVersion": 1, "upperSchemaVersionNew": 2})


def mean_episode_seconds(handler: Any, events: list[dict], repeat: int) -> float:
    """Mean replay time of an episode of this execution (each episode's median over `repeat` calls)."""
    contexts = episode_contexts(events)
    return statistics.mean(replay_seconds(handler, context, repeat) for context in contexts)


def naive_context(polls: int) -> tuple[str, int]:
    """The monitor loop's episode after poll `polls`, with every earlier poll in the same history."""
    builder = HistoryBuilder("naive-1")
    builder.add_orchestrator_started().add_execution_started("monitor", polls + 1)
    event_id = 0
    for n in range(polls):
        fire_at = builder.now + timedelta(minutes=1)
        builder.add_timer_created(event_id, fire_at).add_orchestrator_completed()
        builder.step(60).add_orchestrator_started().add_timer_fired(event_id, fire_at)
        builder.add_task_scheduled(event_id + 1, "check").add_orchestrator_completed()
        builder.step(1).add_orchestrator_started().add_task_completed(event_id + 1, "running" if n % 7 else "queued")
        event_id += 2
    return builder.context(), len(builder.events)


def replay_seconds(handler: Any, context: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        handler(context)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--late", type=int, default=2000, help="the late poll to replay at")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--events-target", type=int, default=300)
    parser.add_argument("--ratio-target", type=float, default=1.5)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app, product_runs, product_record = run_job(args.days, None, f"{tmp}/product.sqlite")
        _, fixed_runs, fixed_record = run_job(args.days, FIXED, f"{tmp}/fixed.sqlite")
    handler = app.orchestrators["azureml_pipeline"].callable
    naive = load_app(ROOT / "bench" / "monitor_app").orchestrators["monitor"].callable
    product_events = max(len(events) for _, events in product_runs)
    fixed_events = max(len(events) for _, events in fixed_runs)
    late = execution_holding(fixed_runs, args.late)
    if late is None:
        print(f"the fixed-poll run made only {fixed_record['polls']} polls, fewer than {args.late}", file=sys.stderr)
        return 1
    early = execution_holding(fixed_runs, EARLY)
    ours = [mean_episode_seconds(handler, events, args.repeat) for _, events in (early, late)]
    naive_contexts = [naive_context(EARLY), naive_context(args.late)]
    theirs = [replay_seconds(naive, context, max(3, args.repeat // 4)) for context, _ in naive_contexts]
    ratio, naive_ratio = ours[1] / ours[0], theirs[1] / theirs[0]
    print(f"| {args.days:g}-day job | polls | executions | max events per execution | "
          f"replay at poll {EARLY} | replay at poll {args.late} | ratio | targets |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| runbridge, product policy | {product_record['polls']} | {len(product_runs)} | {product_events} | "
          f"- | - | - | events <= {args.events_target} |")
    print(f"| runbridge, fixed 5-min polls | {fixed_record['polls']} | {len(fixed_runs)} | {fixed_events} | "
          f"{ours[0] * 1e3:.2f} ms ({len(early[1])} events) | {ours[1] * 1e3:.2f} ms ({len(late[1])} events) | "
          f"{ratio:.2f}x | events <= {args.events_target}, ratio <= {args.ratio_target:g} |")
    print(f"| naive loop, no continue_as_new | {args.late} | 1 | {naive_contexts[1][1]} | "
          f"{theirs[0] * 1e3:.2f} ms ({naive_contexts[0][1]} events) | {theirs[1] * 1e3:.2f} ms "
          f"({naive_contexts[1][1]} events) | {naive_ratio:.1f}x | (grows linearly) |")
    missed = []
    if max(product_events, fixed_events) > args.events_target:
        missed.append("events per execution")
    if ratio > args.ratio_target:
        missed.append("replay time ratio")
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
