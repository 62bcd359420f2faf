"""docs/adding-a-platform.md is true: each platform is its two folders, its orchestrator and its row, plus the
places the page lists, and nothing else names it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from core.connections import _SPECS, CONNECTION_TYPE_FOR_JOB_TYPE
from core.job_types import registered_job_types
from simulators.embedded import CATALOG
from simulators.registry import PLATFORMS

ROOT = Path(__file__).resolve().parent.parent.parent
SEARCHED = ("core", "orchestrators", "activities", "starters", "maintenance", "platforms", "devhost", "simulators",
            "devkit")
DOCUMENTED_ELSEWHERE = {"starters/platform_errors.py", "devhost/cli.py",  # the page's "also named in"
                        "starters/azureml_events.py"}
JOBS = sorted(CONNECTION_TYPE_FOR_JOB_TYPE.items())


@pytest.mark.parametrize(("job", "platform"), JOBS, ids=[job for job, _ in JOBS])
def test_a_platform_is_its_folders_its_orchestrator_and_its_row(job, platform):
    assert platform in _SPECS
    assert callable(importlib.import_module(f"platforms.{platform.value}.client").create_client)
    simulator = importlib.import_module(f"simulators.{platform.value}")
    assert callable(simulator.create) and PLATFORMS[platform.value].default_port == simulator.DEFAULT_PORT
    assert CATALOG[platform.value][0] == simulator.CONNECTION
    orchestrator = importlib.import_module(registered_job_types()[job].orchestrator_module)
    assert orchestrator.JOB_TYPE.name == job and hasattr(orchestrator, "bp") and hasattr(orchestrator, job)


@pytest.mark.parametrize(("job", "platform"), JOBS, ids=[job for job, _ in JOBS])
def test_nothing_else_names_a_platform_than_the_page_says(job, platform):
    names = {platform.value, platform.name, job}
    own = {f"platforms/{platform.value}/", f"simulators/{platform.value}/", f"orchestrators/{job}.py",
           "core/connections.py"}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    naming = set()
    for folder in SEARCHED:
        for path in (ROOT / folder).rglob("*.py"):
            relative = str(path.relative_to(ROOT))
            if any(relative.startswith(o) for o in own):
                continue
            code = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                             if not line.lstrip().startswith("#"))
            if pattern.search(_without_docstrings(code)):
                naming.add(relative)
    assert naming <= DOCUMENTED_ELSEWHERE, naming - DOCUMENTED_ELSEWHERE


def _without_docstrings(code: str) -> str:
    return re.sub(r'"""(.|\n)*?"""', "", code)
