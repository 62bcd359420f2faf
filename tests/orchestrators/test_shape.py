"""The shape issue 17 asks for, kept: small orchestrator functions, and the protocol's names in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
APP = ("core", "orchestrators", "activities", "starters", "maintenance")
PROTOCOL_WORDS = {"cancel", "submit_run", "poll_run", "cancel_run", "read_outputs", "run_chain", "ContinuedAsNew",
                  "orphan_note"}
MAX_LINES, MAX_PARAMETERS = 40, 5
# the same word in another role: the queue starter's message field `{"cancel": "<runId>"}`
ELSEWHERE = {"starters/queue_starter.py": {"cancel"}}


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


@pytest.mark.parametrize("path", sorted((ROOT / "orchestrators").glob("*.py")), ids=lambda p: p.name)
def test_no_orchestrator_function_is_over_40_lines_or_5_parameters(path):
    for function in _functions(path):
        lines = function.end_lineno - function.lineno + 1
        arguments = function.args
        count = len(arguments.posonlyargs + arguments.args + arguments.kwonlyargs)
        count -= 1 if arguments.args and arguments.args[0].arg == "self" else 0
        assert lines <= MAX_LINES, f"{function.name} has {lines} lines"
        assert count <= MAX_PARAMETERS, f"{function.name} has {count} parameters"


def _literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings}


@pytest.mark.parametrize("path", [p for folder in APP for p in sorted((ROOT / folder).rglob("*.py"))
                                  if p != ROOT / "core" / "protocol.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_activity_orchestrator_and_event_names_are_spelled_only_in_the_protocol_module(path):
    assert not (PROTOCOL_WORDS - ELSEWHERE.get(str(path.relative_to(ROOT)), set())) & _literals(path)
