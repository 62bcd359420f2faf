"""Typed pipeline variables: a run's string parameters as the JSON values runPipeline takes
(reference/abacus-pipelines.md §4, and "What a client must handle" item 6).

A pipeline declares its variables (describePipeline → `pipelineVariableMappings`: name, variableType,
isRequired, default `value`). A run's parameters are strings (core.parameters), so each value sent is
converted by the declared type, through one table, `CONVERSIONS`:

| variableType | the parameter's text must be | sent as |
|---|---|---|
| INTEGER | a whole number: `10`, `-3`, also `10.0` or `1e3` (JSON numbers rendered as text), within 64 bits | number |
| FLOAT | a finite decimal number: `0.01`, `1e-05`, `3` (no NaN/Infinity, no hex, no `_`) | number |
| BOOLEAN | `true` or `false`, any letter case (not 1/0/yes/no) | boolean |
| STRING, ATTACHMENT | any text, the empty string included, unchanged | string |
| JSON | JSON text of an object (`{...}`; no NaN/Infinity) | object |
| LIST | JSON text of an array (`[...]`; a comma-separated line is not a list) | array |
| the id types, FEATURE_GROUP | an Abacus id: non-empty, no spaces (outer spaces are trimmed) | string |
| any other type | any text (a type newer than this table: the platform checks it) | string |

Reasons never quote the value (core.errors). A parameter the pipeline does not declare, or a value that
does not fit, is refused before anything is sent; so is a required variable with no default that the run
does not give. Names match exactly: pipeline variables are Python names, and Python is case-sensitive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import ValidationError
from core.parameters import Parameter

ID_TYPES = ("DATASET_ID", "MODEL_ID", "FEATURE_GROUP_ID", "MONITOR_ID", "BATCH_PREDICTION_ID", "DEPLOYMENT_ID")
# §4 PythonFunctionArgumentType, every member.
ARGUMENT_TYPES = ("FEATURE_GROUP", "INTEGER", "STRING", "BOOLEAN", "FLOAT", "JSON", "LIST", *ID_TYPES, "ATTACHMENT")
INT64 = 2**63
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _integer(text: str) -> int:
    text = text.strip()
    if _INTEGER.fullmatch(text):
        number = Decimal(text)
    elif _NUMBER.fullmatch(text):
        number = Decimal(text)
        if number.adjusted() > 19 or number != number.to_integral_value():
            raise ValueError("must be a whole number")
    else:
        raise ValueError("must be a whole number")
    if not -INT64 <= number < INT64:
        raise ValueError("must be a whole number within 64 bits")
    return int(number)


def _float(text: str) -> float:
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise ValueError("must be a decimal number")
    try:
        number = float(Decimal(text))
    except (InvalidOperation, OverflowError):
        number = float("inf")
    if number in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return number


def _boolean(text: str) -> bool:
    word = text.strip().casefold()
    if word not in ("true", "false"):
        raise ValueError("must be true or false")
    return word == "true"


def _text(text: str) -> str:
    return text


def _json(kind: type, label: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except ValueError:
            raise ValueError(f"must be JSON text of {label}") from None
        if not isinstance(value, kind):
            raise ValueError(f"must be JSON text of {label}")
        return value

    return convert


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _reference(text: str) -> str:
    value = text.strip()
    if not value or any(char.isspace() for char in value):
        raise ValueError("must be an Abacus id (not empty, no spaces)")
    return value


# The conversion table: variableType -> how a parameter's text becomes the value sent (see the module doc).
CONVERSIONS: Mapping[str, Callable[[str], Any]] = {
    "INTEGER": _integer,
    "FLOAT": _float,
    "BOOLEAN": _boolean,
    "STRING": _text,
    "ATTACHMENT": _text,
    "JSON": _json(dict, "an object"),
    "LIST": _json(list, "an array"),
    "FEATURE_GROUP": _reference,
    **{name: _reference for name in ID_TYPES},
}


def convert(variable_type: str, text: str) -> Any:
    """`text` as the JSON value a `variable_type` variable takes; ValueError (a reason, no value) if it
    does not fit. A type missing from the table passes the text through unchanged."""
    converter = CONVERSIONS.get(variable_type.strip().upper())
    return text if converter is None else converter(text)


@dataclass(frozen=True)
class Variable:
    """A pipeline variable as describePipeline declares it; `default` is the declared value (may be None)."""

    name: str
    variable_type: str
    required: bool = True  # §4: the SDK's default for isRequired
    default: Any = None

    @property
    def must_be_given(self) -> bool:
        """True when a run has to give a value: required, and nothing to fall back on."""
        return self.required and self.default is None


def declared_variables(pipeline: Mapping[str, Any]) -> list[Variable]:
    """The variables a Pipeline object declares (entries without a name are ignored)."""
    declared = []
    for item in pipeline.get("pipelineVariableMappings") or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            continue
        variable_type = item.get("variableType")
        declared.append(Variable(item["name"], variable_type.strip().upper() if isinstance(variable_type, str)
                                 else "STRING", item.get("isRequired") is not False, item.get("value")))
    return declared


def build_mappings(parameters: Sequence[Parameter], variables: Iterable[Variable], pipeline_id: str,
                   given_later: Collection[str] = ()) -> list[dict[str, Any]]:
    """runPipeline's `pipelineVariableMappings` from the Input/InputOutput parameters that have a value.

    Raises ValidationError at `parameters[i].name` (no such variable), `parameters[i].value` (does not fit
    the declared type) or `parameters` (a required variable with no default is not given). A name in
    `given_later` (a chain binding, checked before the value exists) counts as given, if it is declared.
    """
    by_name = {variable.name: variable for variable in variables}
    mappings: list[dict[str, Any]] = []
    for index, parameter in enumerate(parameters):
        if not parameter.direction.sends or (parameter.value is None and parameter.name not in given_later):
            continue
        variable = by_name.get(parameter.name)
        if variable is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise ValidationError(f"parameters[{index}].name",
                                  f"is not a variable of pipeline {pipeline_id} (its variables: {known})")
        if parameter.value is None:  # given later: declared, its value is checked when it is known
            continue
        try:
            value = convert(variable.variable_type, parameter.value)
        except ValueError as exc:
            raise ValidationError(f"parameters[{index}].value",
                                  f"{exc} (pipeline variable {variable.name} is {variable.variable_type})") from None
        mappings.append({"name": variable.name, "variableType": variable.variable_type, "value": value})
    given = {mapping["name"] for mapping in mappings} | set(given_later)
    missing = [v.name for v in by_name.values() if v.must_be_given and v.name not in given]
    if missing:
        raise ValidationError("parameters", f"must give pipeline variable {missing[0]} of pipeline {pipeline_id}: "
                                            "it is required and has no default")
    return mappings


def effective_values(variables: Iterable[Variable], mappings: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Every declared variable's value in a version started with `mappings`: the value sent, else the default."""
    sent = {mapping["name"]: mapping["value"] for mapping in mappings}
    return {v.name: sent.get(v.name, v.default) for v in variables}


def same_values(variables: Iterable[Variable], expected: Mapping[str, Any], echoed: Any) -> bool:
    """True when a version's echoed `pipelineVariableMappings` carry exactly the `expected` values.

    A variable the version does not echo counts as its declared default (§4 [U]: whether the server
    merges defaults in is undocumented). Values compare as JSON values (`10` equals `10.0`), and a text
    value is first converted by its type, in case the server echoes what it was sent as text.
    """
    types = {v.name: v.variable_type for v in variables}
    defaults = {v.name: v.default for v in variables}
    seen: dict[str, Any] = {}
    for item in echoed or []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            seen[item["name"]] = item.get("value")
    for name in set(expected) | set(seen):
        variable_type = types.get(name, "STRING")
        actual = seen.get(name, defaults.get(name))
        if _comparable(variable_type, actual) != _comparable(variable_type, expected.get(name, defaults.get(name))):
            return False
    return True


def _comparable(variable_type: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return convert(variable_type, value)
        except ValueError:
            return value
    return value
