"""Scale: many concurrent azureml_pipeline runs of simulated hours each, in one process, on a virtual clock.

devhost runs this repo's app against the Azure ML simulator (bench/sim_stack.py); every run is started at
once (host.start_new, the starter's input shape) on `long-pipeline` clones that run `--hours`. Reported:
runs/s and episodes/s (DevHost.episodes) over the wall time, SQLite size per run, peak memory (maxrss)
above the idle stack per run, and SQLite's own commit rate for the same write pattern, measured by a
micro-benchmark: one transaction per episode that appends the same number of history rows of the same
size and rewrites the instance row, in a database with devhost's pragmas (WAL, synchronous=NORMAL).
Targets: every run finishes (Success); memory per run in kilobytes (< 1 MiB). The commit rate is reported
beside episodes/s with no target: "within 3x" was withdrawn, since the SDK's own replay of an episode bounds
episodes/s far below it (the replay floor is printed too; bench/README.md has the arithmetic).

    python bench/scale.py [--runs 1000] [--hours 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from history import episode_contexts
from sim_stack import SimStack
from verdict import verdict


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def db_bytes(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def write_pattern(path: str) -> dict[str, float]:
    """What the run wrote: history rows and bytes, instance row bytes (to replay in the micro-benchmark)."""
    with sqlite3.connect(path) as db:
        rows, event_bytes = db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(event)), 0) FROM history").fetchone()
        instances, instance_bytes = db.execute(
            "SELECT COUNT(*), SUM(LENGTH(COALESCE(custom_status, '')) + LENGTH(state) + LENGTH(COALESCE(input, '')))"
            " FROM instances").fetchone()
    return {"rows": rows, "event_bytes": event_bytes / max(rows, 1), "instance_bytes": instance_bytes / instances}


def commit_rate(path: str, episodes: int, rows_per_episode: float, event_bytes: int, instance_bytes: int) -> float:
    """Commits per second of one small transaction per episode, with devhost's row sizes and pragmas."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript("""
        CREATE TABLE instances (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated TEXT NOT NULL);
        CREATE TABLE history (instance_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
                              PRIMARY KEY (instance_id, seq));""")
    event, state = "e" * event_bytes, "s" * instance_bytes
    instances = 1000
    db.executemany("INSERT INTO instances VALUES (?, ?, '')", [(f"i{n}", state) for n in range(instances)])
    seq = [0] * instances
    owed = 0.0
    began = time.perf_counter()
    for episode in range(episodes):
        n = episode % instances
        owed += rows_per_episode
        count, owed = int(owed), owed - int(owed)
        db.execute("BEGIN")
        db.executemany("INSERT INTO history VALUES (?, ?, ?)", [(f"i{n}", seq[n] + k, event) for k in range(count)])
        db.execute("UPDATE instances SET state=?, updated=? WHERE id=?", (state, str(episode), f"i{n}"))
        db.execute("COMMIT")
        seq[n] += count
    seconds = time.perf_counter() - began
    db.close()
    return episodes / seconds


def replay_floor(path: str, handler, run_ids: list[str]) -> float:
    """Mean seconds the SDK's orchestrator handle alone takes per episode, over every episode of these runs."""
    contexts = []
    with sqlite3.connect(path) as db:
        for run_id in run_ids:
            executions: dict[str, list[dict]] = {}
            for execution_id, text in db.execute(
                    "SELECT execution_id, event FROM history WHERE instance_id=? ORDER BY seq", (run_id,)):
                executions.setdefault(execution_id, []).append(json.loads(text))
            contexts += [c for events in executions.values() for c in episode_contexts(events)]
    began = time.perf_counter()
    for context in contexts:
        handler(context)
    return (time.perf_counter() - began) / len(contexts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--memory-target", type=float, default=1024.0, help="max KiB of peak memory per run")
    parser.add_argument("--timeout", type=float, default=7200.0, help="real seconds to wait for every run")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"{tmp}/devhost.sqlite"
        stack = SimStack(db, args.hours * 3600)
        stack.start()
        ids = [f"scale-{n:05d}" for n in range(args.runs)]
        try:
            idle = rss_kib()
            began = time.perf_counter()
            for run_id in ids:
                stack.start_run(run_id)
            records = stack.wait_all(ids, timeout=args.timeout)
            wall = time.perf_counter() - began
            episodes = stack.host.episodes
            handler = stack.host.app.orchestrators["azureml_pipeline"].callable
        finally:
            stack.stop()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        size = db_bytes(db)
        pattern = write_pattern(db)
        replay = replay_floor(db, handler, ids[:10])
        rate = commit_rate(f"{tmp}/commits.sqlite", min(episodes, 20_000), pattern["rows"] / episodes,
                           round(pattern["event_bytes"]), round(pattern["instance_bytes"]))
    succeeded = sum(1 for r in records.values() if r["status"] == "Success")
    polls = sum(r["polls"] for r in records.values())
    per_run_kib = max(peak - idle, 0) / args.runs
    eps = episodes / wall
    print(f"| measure | {args.runs} runs x {args.hours:g} h (azureml_pipeline, virtual clock) | target |")
    print("|---|---|---|")
    print(f"| runs finished with Success | {succeeded} / {args.runs} | all |")
    print(f"| wall time | {wall:.1f} s ({polls} polls, {episodes} episodes) | |")
    print(f"| runs/s | {args.runs / wall:.2f} | |")
    print(f"| episodes/s | {eps:.0f} | |")
    print(f"| SQLite size per run | {size / args.runs / 1024:.1f} KiB | |")
    print(f"| peak memory (maxrss) | {peak / 1024:.0f} MiB; above the idle stack: {per_run_kib:.1f} KiB per run | "
          f"< {args.memory_target:g} KiB per run |")
    print(f"| SQLite commit rate, same write pattern ({pattern['rows'] / episodes:.1f} rows of "
          f"{pattern['event_bytes']:.0f} B + {pattern['instance_bytes']:.0f} B instance row per commit) | "
          f"{rate:.0f} commits/s; commit rate / episodes/s = {rate / eps:.1f}x | none (withdrawn) |")
    print(f"| SDK replay alone (orchestrator handle, no host; mean over the episodes of {min(args.runs, 10)} runs) | "
          f"{replay * 1e3:.2f} ms per episode: at most {1 / replay:.0f} episodes/s on one core | |")
    missed = []
    if succeeded != args.runs:
        missed.append("not all runs finished with Success")
    if per_run_kib >= args.memory_target:
        missed.append("memory per run")
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
