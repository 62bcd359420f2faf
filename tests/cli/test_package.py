"""`pip install ./cli` on a scheduler host: one folder, `requests` only, a `runbridge` console script, and
nothing of the Functions app imported."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys

from .conftest import CLI_ROOT

APP_PACKAGES = {"core", "platforms", "starters", "orchestrators", "activities", "devhost", "simulators", "azure",
                "function_app"}


def _can_build_offline() -> bool:
    """setuptools >= 64 and wheel here (requirements-dev.txt): build without fetching a build environment."""
    try:
        import setuptools
        import wheel  # noqa: F401
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 64


def test_pip_installs_the_folder_with_requests_as_its_only_dependency_and_a_runbridge_script(tmp_path):
    target, folder = tmp_path / "site", tmp_path / "cli"  # a copy: a build writes build/ and egg-info beside it
    shutil.copytree(CLI_ROOT, folder, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    offline = ["--no-build-isolation", "--no-index"] if _can_build_offline() else []
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    *offline, "--target", str(target), str(folder)], check=True, timeout=180, capture_output=True)
    metadata = next(target.glob("runbridge_cli-*.dist-info")) / "METADATA"
    requires = [line for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist:")]
    assert [line.split()[1] for line in requires] == ["requests<3,>=2.31"]
    env = {**os.environ, "PYTHONPATH": str(target)}
    version = subprocess.run([str(target / "bin" / "runbridge"), "--version"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.strip().startswith("runbridge-cli ")
    probe = ("import json, sys, runbridge_cli.main; "
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=30, check=True)
    assert not APP_PACKAGES & set(json.loads(loaded.stdout))


def test_the_modules_stay_within_the_python_the_package_declares():
    """requires-python is 3.9 (older scheduler hosts): its syntax, and annotations never evaluated at run time."""
    assert 'requires-python = ">=3.9"' in (CLI_ROOT / "pyproject.toml").read_text()
    for module in (CLI_ROOT / "runbridge_cli").glob("*.py"):
        source = module.read_text()
        ast.parse(source, filename=str(module), feature_version=(3, 9))
        assert "from __future__ import annotations" in source or "->" not in source, module.name
