"""SECURITY.md stays true to the code: every test it names exists, and every open finding it lists has a
strict xfail test that names it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = (ROOT / "SECURITY.md").read_text()


def test_every_test_named_in_security_md_exists():
    named = re.findall(r"(tests/[\w/]+\.py)::(\w+)", DOC)
    assert len(named) >= 20
    for path, test in named:
        source = ROOT / path
        assert source.is_file(), f"SECURITY.md names {path}, which does not exist"
        assert re.search(rf"^(async )?def {test}\(", source.read_text(), re.MULTILINE), f"{path} has no {test}"


def test_every_control_names_a_test_and_every_open_finding_an_xfail():
    controls = re.findall(r"^\| (C\d+) \|.*$", DOC, re.MULTILINE)
    assert controls and all("tests/" in line for line in re.findall(r"^\| C\d+ \|.*$", DOC, re.MULTILINE))
    tests = "\n".join(p.read_text() for p in (ROOT / "tests" / "security").glob("test_*.py"))
    for finding in re.findall(r"^\*\*(F\d+) \([a-z]+, open\)", DOC, re.MULTILINE):
        assert re.search(rf"_open_finding\(\s*{finding[1:]},", tests), f"open finding {finding} has no xfail test"
    for number in re.findall(r"_open_finding\(\s*(\d+),", tests):
        assert re.search(rf"^\*\*F{number} \([a-z]+, open\)", DOC, re.MULTILINE), (
            f"a test marks finding F{number} open, but SECURITY.md does not list it as open")
