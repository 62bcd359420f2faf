"""What the Function App installs is bounded and audited.

requirements.txt is what Azure installs (remote build): every requirement has a lower and an upper
bound, so a new major release never arrives unreviewed, and comes from the index by name (no URL, VCS
or local path, no index options). pip-audit checks the set those bounds resolve to against the PyPA
advisory database; it needs PyPI's JSON API or OSV, which this machine cannot reach (only the package
index is reachable here), so the audit reports a skip with the reason rather than a false "clean".
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement

ROOT = Path(__file__).resolve().parent.parent.parent
AUDIT_TIMEOUT = 300  # seconds; pip-audit builds a throwaway venv to resolve requirements.txt


def _requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def test_requirements_are_named_packages_from_the_index_only():
    for line in _requirement_lines(ROOT / "requirements.txt"):
        assert not line.startswith("-"), f"requirements.txt: no pip options ({line})"
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            pytest.fail(f"requirements.txt: {line!r} is not a plain requirement")
        assert requirement.url is None, f"{requirement.name}: installed from a URL"


def test_every_requirement_has_an_upper_and_a_lower_bound():
    for line in _requirement_lines(ROOT / "requirements.txt"):
        requirement = Requirement(line)
        operators = {spec.operator for spec in requirement.specifier}
        assert operators & {"<", "<=", "==", "~=", "==="}, f"{requirement.name} has no upper bound"
        assert operators & {">=", ">", "==", "~=", "==="}, f"{requirement.name} has no lower bound"


def test_durable_functions_stays_on_the_1x_json_protocol():
    """devhost and the orchestrators speak the 1.x protocol; 2.x is a different one (durable-functions.md §0)."""
    durable = next(Requirement(line) for line in _requirement_lines(ROOT / "requirements.txt")
                   if Requirement(line).name == "azure-functions-durable")
    assert "2.0.0" not in durable.specifier and "1.7.0" in durable.specifier


def _audit() -> dict:
    command = [sys.executable, "-m", "pip_audit", "-r", str(ROOT / "requirements.txt"), "--format", "json",
               "--progress-spinner", "off"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=AUDIT_TIMEOUT, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.skip(f"pip-audit did not finish in {AUDIT_TIMEOUT}s (no vulnerability service reachable?)")
    unreachable = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "Failed to resolve")
    if done.returncode not in (0, 1) or not done.stdout.strip().startswith("{"):
        if any(word in done.stderr for word in unreachable):
            pytest.skip("pip-audit cannot reach its vulnerability service from here: "
                        + done.stderr.strip().splitlines()[-1][:200])
        pytest.fail(f"pip-audit failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def test_pip_audit_finds_no_known_vulnerability():
    report = _audit()
    found = [f"{dep['name']} {dep.get('version')}: {', '.join(v['id'] for v in dep['vulns'])}"
             for dep in report.get("dependencies", []) if dep.get("vulns")]
    assert found == [], "known vulnerabilities in what requirements.txt resolves to:\n" + "\n".join(found)
    unaudited = [dep["name"] for dep in report.get("dependencies", []) if dep.get("skip_reason")]
    if unaudited:
        # pip-audit prints "No known vulnerabilities found" even when it could audit nothing: a package
        # it cannot look up is skipped, not failed. Say so instead of passing.
        reason = next(dep["skip_reason"] for dep in report["dependencies"] if dep.get("skip_reason"))
        pytest.skip(f"pip-audit could not audit {len(unaudited)} of {len(report['dependencies'])} packages "
                    f"(its PyPI/OSV service is unreachable here), e.g. {reason}")
    assert report.get("dependencies"), "pip-audit audited nothing"


def test_the_dev_tools_for_these_checks_are_pinned_too():
    dev = {Requirement(line).name: Requirement(line) for line in _requirement_lines(ROOT / "requirements-dev.txt")
           if not line.startswith("-")}
    for name in ("pycep-parser", "pip-audit"):
        assert name in dev, f"requirements-dev.txt lacks {name}"
        assert any(spec.operator == "<" for spec in dev[name].specifier), f"{name} has no upper bound"
    assert re.search(r"^-r requirements\.txt$", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)
