import ast
import sys
from pathlib import Path

import pytest

import core

CORE = Path(core.__file__).parent
MODULES = sorted(CORE.glob("*.py"))


def imported_roots(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_core_imports_only_the_standard_library_and_itself(path):
    foreign = {root for root in imported_roots(path) if root != "core" and root not in sys.stdlib_module_names}
    assert not foreign, f"{path.name} imports {foreign}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_the_domain_reads_no_clock_no_settings_and_no_global_randomness(path):
    assert not {"time", "random", "os", "uuid"} & set(imported_roots(path))
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not {"now", "utcnow", "today"} & calls


def test_everything_core_exports_exists():
    assert all(hasattr(core, name) for name in core.__all__)
