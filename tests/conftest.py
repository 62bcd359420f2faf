"""Shared test setup: the repo root is importable, and wall-time tests are opt-in."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RUNBRIDGE_WALLTIME") == "1":
        return
    skip = pytest.mark.skip(reason="wall-time test; set RUNBRIDGE_WALLTIME=1 to run it")
    for item in items:
        if "walltime" in item.keywords:
            item.add_marker(skip)
