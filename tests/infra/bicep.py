"""Reading the Bicep templates without a Bicep compiler: pycep-parser's JSON AST, and a few walks over it.

pycep (pip `pycep-parser`) turns a .bicep file into nested dicts: `parameters`, `variables`, `resources`,
`modules`, `outputs`, `types`, `functions`; expressions are `{"function": ...}` / `{"operator": ...}`
trees, loops `{"loop_type", "condition", "config"}`. It drops the difference between an identifier and a
string literal (`value: storageName` and `value: 'storageName'` both read "storageName") and the `?` of
optional type members; the tests that need those read the source text instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parent.parent.parent
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
APP = INFRA / "modules" / "app.bicep"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def code_text(path: Path) -> str:
    """The source without its whole-line `//` comments (for text searches that must not match prose)."""
    return "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))


@cache
def _parser() -> BicepParser:
    return BicepParser()


def parse_text(text: str) -> dict[str, Any]:
    """The AST of Bicep source; raises (lark's UnexpectedInput, or ValueError) on a syntax error."""
    return _parser().parse(text=text)


@cache
def parse(path: Path) -> dict[str, Any]:
    return parse_text(path.read_text())


@dataclass(frozen=True)
class Setting:
    """One app setting the template writes: its name template, value expression, and the loop it is in."""

    name: str
    value: Any
    loop_array: str | None = None  # the parameter a for-expression iterates, e.g. azureMlConnections
    loop_item: str | None = None  # the loop variable, e.g. c


def site_app_settings(ast: dict[str, Any], resource: str = "site") -> list[Setting]:
    """Every entry of `siteConfig.appSettings` of `resource`, with variables and flatten/concat resolved."""
    config = ast["resources"][resource]["config"]
    return list(_settings(ast, config["properties"]["siteConfig"]["appSettings"], None, None))


def _settings(ast: dict[str, Any], expr: Any, array: str | None, item: str | None) -> Iterator[Setting]:
    if isinstance(expr, str) and expr in ast.get("variables", {}):
        yield from _settings(ast, ast["variables"][expr]["value"], array, item)
    elif isinstance(expr, list):
        for entry in expr:
            yield from _settings(ast, entry, array, item)
    elif isinstance(expr, dict) and "loop_type" in expr:
        detail = expr["loop_type"]["detail"]
        yield from _settings(ast, expr["config"], detail["array_name"], detail["item_name"])
    elif isinstance(expr, dict) and "function" in expr and expr["function"]["type"] in ("concat", "flatten"):
        for argument in expr["function"]["parameters"].values():
            yield from _settings(ast, argument, array, item)
    elif isinstance(expr, dict) and set(expr) == {"name", "value"}:
        yield Setting(expr["name"], expr["value"], array, item)
    else:
        raise AssertionError(f"app settings: cannot read {str(expr)[:200]} (keep them literal lists, "
                             "variables, for-expressions, concat() and flatten())")


def item_fields(expr: Any, item: str) -> set[str]:
    """Members of the loop item `item` that an expression reads (`c.region`, `c.?tenantId ?? ''`)."""
    found: set[str] = set()
    if isinstance(expr, dict):
        operator = expr.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "property_accessor":
            operands = operator["operands"]
            if operands["operand_1"] == item:
                member = operands["operand_2"]
                # pycep reads `c.?x ?? d` as c.(x ?? d)
                while isinstance(member, dict) and member.get("operator", {}).get("type") == "coalesce":
                    member = member["operator"]["operands"]["operand_1"]
                if isinstance(member, str):
                    found.add(member)
        for value in expr.values():
            found |= item_fields(value, item)
    elif isinstance(expr, list):
        for value in expr:
            found |= item_fields(value, item)
    return found


def type_members(path: Path, type_name: str) -> dict[str, bool]:
    """Members of a user-defined object type in the source text: name → optional (`string?`)."""
    text = path.read_text()
    match = re.search(rf"^type {re.escape(type_name)} = \{{\n(.*?)^\}}", text, re.MULTILINE | re.DOTALL)
    assert match, f"{path.name} has no `type {type_name} = {{...}}`"
    members: dict[str, bool] = {}
    for line in match.group(1).splitlines():
        member = re.fullmatch(r"\s*(\w+): \w+(\??)\s*", line)
        if member:
            members[member.group(1)] = member.group(2) == "?"
    return members


def walk(expr: Any) -> Iterator[Any]:
    """Every node of an AST subtree."""
    yield expr
    if isinstance(expr, dict):
        for value in expr.values():
            yield from walk(value)
    elif isinstance(expr, list):
        for value in expr:
            yield from walk(value)
