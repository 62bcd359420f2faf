"""Smoke-sized runs of the benchmarks: they run end to end and report their figures (no timing asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def test_devhost_overhead_benchmark_runs_small():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "devhost_overhead.py"), "--instances", "20",
                             "--polls", "3", "--target", "1000"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ratio devhost / floor" in result.stdout
    assert "20 orchestrations x 3 polls" in result.stdout


def _run(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_cold_start_benchmark_runs_small():
    result = _run("cold_start.py", "--repeat", "1", "--floor-target", "1000", "--sdk-target", "1000")
    assert result.returncode == 0, result.stderr
    assert "function_app / floor" in result.stdout
    assert "heavy packages imported by function_app beyond the floor | none" in result.stdout


def test_devhost_vs_durabletask_benchmark_runs_small():
    pytest.importorskip("durabletask.testing", reason="benchmark-only: pip install -r bench/requirements.txt")
    result = _run("devhost_vs_durabletask.py", "--instances", "4", "--polls", "2", "--target", "0")
    assert result.returncode == 0, result.stderr
    assert "throughput ratio devhost / durabletask" in result.stdout


def test_scale_benchmark_runs_small():
    result = _run("scale.py", "--runs", "4", "--hours", "0.2",
                  "--memory-target", "1e9")  # a few runs: per-run memory is noise
    assert result.returncode == 0, result.stderr
    assert "| runs finished with Success | 4 / 4 | all |" in result.stdout
    assert "SQLite commit rate, same write pattern" in result.stdout and "none (withdrawn)" in result.stdout


def test_platform_load_benchmark_runs_small():
    result = _run("platform_load.py", "--lengths", "10m", "--event-lengths", "10m")
    assert "| 10m |" in result.stdout
    assert "| 10m | events, 20% dropped/duplicated/reordered | Success |" in result.stdout
    # the 2-h work-ratio target does not apply to a 10-minute job: every other target is met
    assert result.returncode == 0, result.stdout + result.stderr


def test_history_benchmark_runs_small():
    result = _run("history.py", "--days", "0.5", "--late", "40", "--repeat", "1", "--events-target", "100000",
                  "--ratio-target", "1000")
    assert result.returncode == 0, result.stderr
    assert "naive loop, no continue_as_new" in result.stdout


def test_events_benchmark_runs_small():
    result = _run("events.py", "--runs", "3", "--hours", "0.2", "--episodes-target", "1000")
    assert result.returncode == 0, result.stderr
    assert "episodes per run" in result.stdout and "3 / 3" in result.stdout
