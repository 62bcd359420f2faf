"""Smoke-sized runs of the benchmarks: they run end to end and report their figures (no timing asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_devhost_overhead_benchmark_runs_small():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "devhost_overhead.py"), "--instances", "20",
                             "--polls", "3", "--target", "1000"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ratio devhost / floor" in result.stdout
    assert "20 orchestrations x 3 polls" in result.stdout
