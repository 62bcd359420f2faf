"""What the deployment package holds: .funcignore keeps dev-only folders out and everything the app reads at
run time in (the Functions host serves only what was deployed)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PATTERNS = [line.strip().rstrip("/") for line in (ROOT / ".funcignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def _ignored(relative: str) -> bool:
    parts = relative.split("/")
    return any(fnmatch.fnmatch(part, pattern) or fnmatch.fnmatch(relative, pattern)
               for pattern in PATTERNS for part in [*parts, parts[0]])


def test_the_app_and_the_files_it_reads_at_run_time_are_deployed():
    needed = ["function_app.py", "host.json", "requirements.txt", "starters/openapi.json",
              "dashboard/index.html", "dashboard/dashboard.js", "dashboard/dashboard.css"]
    needed += [str(p.relative_to(ROOT)) for folder in ("core", "platforms", "orchestrators", "activities", "starters",
                                                                  "maintenance")
               for p in (ROOT / folder).rglob("*.py")]
    assert [path for path in needed if _ignored(path)] == []
    assert all((ROOT / path).is_file() for path in needed)


def test_development_only_folders_are_left_out():
    for path in ("devhost/host.py", "simulators/embedded.py", "devkit/clock.py", "tests/conftest.py", "bench/run.py",
                 "demo.py", "cli/runbridge_cli/main.py", "cli/pyproject.toml",
                 ".venv/bin/python", "node_modules/azurite/package.json", "local.settings.json"):
        assert _ignored(path), f"{path} would be deployed"
