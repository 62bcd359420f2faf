"""Run every benchmark under bench/ and fail if any misses its target."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "cold_start.py",
    "devhost_overhead.py",
    "devhost_vs_durabletask.py",
    "scale.py",
    "platform_load.py",
    "history.py",
    "events.py",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"## {name}", flush=True)
        if subprocess.call([sys.executable, str(HERE / name)]) != 0:
            failed.append(name)
    if failed:
        print(f"targets missed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
