"""Cold start: `import function_app` in a fresh process beside its floor and beside `import azure.ai.ml`.

The floor imports only what the Function App must install (azure.functions, azure.durable_functions,
azure.identity, requests). azure.ai.ml is what a user would pick instead; it is not a dependency of the
app: install it for the benchmark (bench/requirements.txt). Without it that column is reported as
unavailable and its target is not checked. Each figure is the median of N fresh interpreters.

    python bench/cold_start.py [--repeat 15] [--floor-target 1.3] [--sdk-target 0.4]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

from verdict import verdict

ROOT = Path(__file__).resolve().parent.parent
SUBJECTS = {
    "function_app": "import function_app",
    "floor": "import azure.functions, azure.durable_functions, azure.identity, requests",
    "azure.ai.ml": "import azure.ai.ml",
}
HEAVY = ("azure.ai.ml", "azure.mgmt", "numpy", "pandas", "aiohttp.web", "grpc", "opentelemetry")


def time_import(statement: str, repeat: int) -> float:
    """Median seconds a fresh interpreter takes to run `statement` (interpreter start-up subtracted)."""
    def once(code: str) -> float:
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - began

    bare = statistics.median(once("pass") for _ in range(repeat))
    return max(statistics.median(once(statement) for _ in range(repeat)) - bare, 1e-6)


def loaded_by(statement: str) -> set[str]:
    code = f"{statement}; import sys; print('\\n'.join(sys.modules))"
    return set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.split())


def heavy_modules() -> list[str]:
    """Heavy top-level packages `import function_app` loads beyond what the floor loads (should be none)."""
    extra = loaded_by(SUBJECTS["function_app"]) - loaded_by(SUBJECTS["floor"])
    return sorted({heavy for name in extra for heavy in HEAVY if name == heavy or name.startswith(heavy + ".")})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--floor-target", type=float, default=1.3)
    parser.add_argument("--sdk-target", type=float, default=0.4)
    args = parser.parse_args(argv)
    app = time_import(SUBJECTS["function_app"], args.repeat)
    floor = time_import(SUBJECTS["floor"], args.repeat)
    sdk = time_import(SUBJECTS["azure.ai.ml"], args.repeat) if importlib.util.find_spec("azure.ai") and \
        importlib.util.find_spec("azure.ai.ml") else None
    heavy = heavy_modules()
    missed = []
    print(f"| import (median of {args.repeat} fresh processes, start-up subtracted) | seconds | ratio | target |")
    print("|---|---|---|---|")
    print(f"| function_app | {app:.3f} | | |")
    floor_ratio = app / floor
    print(f"| floor (azure.functions, azure.durable_functions, azure.identity, requests) | {floor:.3f} | "
          f"function_app / floor = {floor_ratio:.2f}x | <= {args.floor_target:g}x |")
    if floor_ratio > args.floor_target:
        missed.append("floor")
    if sdk is None:
        print("| azure.ai.ml | unavailable (not installed: pip install -r bench/requirements.txt) | | |")
    else:
        sdk_ratio = app / sdk
        print(f"| azure.ai.ml | {sdk:.3f} | function_app / azure.ai.ml = {sdk_ratio:.2f}x | "
              f"<= {args.sdk_target:g}x |")
        if sdk_ratio > args.sdk_target:
            missed.append("azure.ai.ml")
    print(f"| heavy packages imported by function_app beyond the floor | {', '.join(heavy) or 'none'} | | none |")
    if heavy:
        missed.append("heavy")
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
