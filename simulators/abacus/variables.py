"""Typed pipeline variables: the `PythonFunctionArgumentType` values, how a value of each type is accepted,
and how runPipeline's `pipelineVariableMappings` merge with a pipeline's declared ones.

abacus-pipelines.md §4. The server's own rules are undocumented ([U]); the rules here are the simulator's
"configurable approximation" (the reference's simulator checklist, item 5):

- A type name is matched case-insensitively (the SDK's ApiEnum is) and echoed upper-case.
- Lenient (default): INTEGER takes a JSON integer, an integral float (10.0) or a decimal string ("10");
  FLOAT a finite JSON number or a numeric string; BOOLEAN true/false or "true"/"false"; STRING and
  ATTACHMENT a string or a number (echoed as text); JSON an object or a string holding one; LIST an array
  or a string holding one; the id types and FEATURE_GROUP a non-empty string. Booleans are never numbers.
- Strict (`strict_types`): only the JSON-native form (§4 helper: INTEGER/FLOAT number, BOOLEAN boolean,
  LIST array, JSON object, the rest strings), as "What a client must handle" item 6 asks clients to send.
- A variable the pipeline does not declare, a type that differs from the declared one, or a duplicate
  name is refused with 400 InvalidParameterError; an unknown type name with 400 InvalidEnumParameterError;
  a required variable left without a value (not sent, null, and no default) with 400 MissingParameterError.
- A variable not sent (or sent as null) takes the pipeline's declared value; `isRequired` as sent is
  ignored (the SDK sends `true` for every mapping it builds, §6 gotcha 6).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from simulators.abacus.wire import INVALID_ENUM, INVALID_PARAMETER, MISSING_PARAMETER

ID_TYPES = ("DATASET_ID", "MODEL_ID", "FEATURE_GROUP_ID", "MONITOR_ID", "BATCH_PREDICTION_ID", "DEPLOYMENT_ID")
ARGUMENT_TYPES = ("FEATURE_GROUP", "INTEGER", "STRING", "BOOLEAN", "FLOAT", "JSON", "LIST", *ID_TYPES, "ATTACHMENT")
"""`PythonFunctionArgumentType` (§4, api_class/enums.py)."""
OUTPUT_TYPES = (*(t for t in ARGUMENT_TYPES if t != "FEATURE_GROUP"), "ANY")
"""`PythonFunctionOutputArgumentType`: the argument types without FEATURE_GROUP, plus ANY (§4)."""

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class VariableError(ValueError):
    """A refused variable: the errorType to answer with (all are HTTP 400) and the message."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def normalise_type(value: Any, allowed: tuple[str, ...] = ARGUMENT_TYPES, field: str = "variableType") -> str:
    """The upper-case type name, or VariableError(InvalidEnumParameterError)."""
    if isinstance(value, str) and value.strip().upper() in allowed:
        return value.strip().upper()
    raise VariableError(INVALID_ENUM, f"Invalid value {value!r} for {field}. Valid values are: {', '.join(allowed)}")


def coerce(variable_type: str, value: Any, *, strict: bool = False) -> Any:
    """`value` as the pipeline receives a `variable_type` variable; ValueError (with the reason) if refused."""
    if variable_type == "INTEGER":
        return _integer(value, strict)
    if variable_type == "FLOAT":
        return _float(value, strict)
    if variable_type == "BOOLEAN":
        if isinstance(value, bool):
            return value
        if not strict and isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError("expected a boolean")
    if variable_type in ("STRING", "ATTACHMENT"):
        if isinstance(value, str):
            return value
        if not strict and _is_number(value):
            return json.dumps(value)
        raise ValueError("expected a string")
    if variable_type == "JSON":
        return _parsed(value, dict, "a JSON object", strict)
    if variable_type == "LIST":
        return _parsed(value, list, "a list", strict)
    # the id types and FEATURE_GROUP name an Abacus object: §4, the JSON-type helper has no type for them
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("expected a non-empty id string")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value: Any, strict: bool) -> int:
    if _is_number(value):
        if isinstance(value, int):
            return value
        if math.isfinite(value) and value.is_integer() and not strict:
            return int(value)
    elif not strict and isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise ValueError("expected an integer")


def _float(value: Any, strict: bool) -> float:
    if _is_number(value) and math.isfinite(value):
        return float(value)
    if not strict and isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value.strip())
    raise ValueError("expected a finite number")


def _parsed(value: Any, kind: type, label: str, strict: bool) -> Any:
    if isinstance(value, kind):
        return value
    if not strict and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, kind):
            return parsed
    raise ValueError(f"expected {label}")


def declare(mappings: Any, *, strict: bool = False) -> list[dict[str, Any]]:
    """A pipeline's declared `pipelineVariableMappings` (createPipeline/updatePipeline, the catalog), checked
    and normalised: `name`, `variableType`, `value` (the default, may be null), `isRequired` (SDK default
    true), `description`. VariableError when malformed."""
    if mappings is None:
        return []
    if not isinstance(mappings, list):
        raise VariableError(INVALID_PARAMETER, "pipelineVariableMappings must be a list of PythonFunctionArgument")
    declared: list[dict[str, Any]] = []
    for item in mappings:
        name = _name_of(item)
        if any(entry["name"] == name for entry in declared):
            raise VariableError(INVALID_PARAMETER, f"Pipeline variable {name} is defined more than once")
        variable_type = normalise_type(item.get("variableType"))
        value = item.get("value")
        if value is not None:
            value = _checked(name, variable_type, value, strict)
        required = item.get("isRequired")
        declared.append(
            {
                "name": name,
                "variableType": variable_type,
                "value": value,
                "isRequired": True if required is None else bool(required),
                "description": item.get("description"),
            }
        )
    return declared


def resolve(
    declared: list[dict[str, Any]], sent: Any, *, validate: bool = True, strict: bool = False
) -> list[dict[str, Any]]:
    """The effective mappings of a new version: `sent` (runPipeline's list, or null) merged over `declared`.

    With `validate=False` nothing is refused: sent values are echoed as they came, undeclared ones too.
    """
    if sent is None:
        sent = []
    if not isinstance(sent, list):
        raise VariableError(INVALID_PARAMETER, "pipelineVariableMappings must be a list of PythonFunctionArgument")
    known = {entry["name"]: entry for entry in declared}
    given: dict[str, dict[str, Any]] = {}
    for item in sent:
        name = _name_of(item)
        if name in given and validate:
            raise VariableError(INVALID_PARAMETER, f"Pipeline variable {name} is given more than once")
        if name not in known and validate:
            names = ", ".join(known) or "none"
            raise VariableError(
                INVALID_PARAMETER, f"Pipeline variable {name} is not defined for this pipeline (defined: {names})"
            )
        given[name] = item
    effective = []
    for name, entry in known.items():
        item = given.get(name, {})
        variable_type = entry["variableType"]
        if validate and item.get("variableType") is not None:
            sent_type = normalise_type(item["variableType"])
            if sent_type != variable_type:
                raise VariableError(
                    INVALID_PARAMETER,
                    f"Pipeline variable {name} is of type {variable_type}, not {sent_type}",
                )
        value = item.get("value")
        if value is None:
            value = entry["value"]
        elif validate:
            value = _checked(name, variable_type, value, strict)
        if value is None and entry["isRequired"] and validate:
            raise VariableError(MISSING_PARAMETER, f"Missing required pipeline variable {name} ({variable_type})")
        effective.append(
            {"name": name, "variableType": variable_type, "value": value, "isRequired": entry["isRequired"]}
        )
    for name, item in given.items():
        if name not in known:  # validate=False only
            effective.append({**item, "name": name})
    return effective


def _name_of(item: Any) -> str:
    if not isinstance(item, Mapping):
        raise VariableError(INVALID_PARAMETER, "Each pipeline variable mapping must be an object with a 'name'")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise VariableError(INVALID_PARAMETER, "Each pipeline variable mapping needs a non-empty 'name'")
    return name


def _checked(name: str, variable_type: str, value: Any, strict: bool) -> Any:
    try:
        return coerce(variable_type, value, strict=strict)
    except ValueError as exc:
        raise VariableError(
            INVALID_PARAMETER, f"Invalid value {value!r} for pipeline variable {name} ({variable_type}): {exc}"
        ) from None
