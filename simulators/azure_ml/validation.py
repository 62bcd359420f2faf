"""PUT rules for Jobs_CreateOrUpdate: validation, normalisation, and what may change on an existing name.

azureml-jobs.md §1.3 (name pattern, immutability), §2 (JobBase fields and mutability), §2.1 (inputs),
§2.4 (outputs), §6 (read-only fields). `problems()` lists every violation as an ARM `details` entry.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

NAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}")  # §1.3, PUT only
JOB_TYPES = ("AutoML", "Command", "Sweep", "Pipeline", "Spark")  # §2: 2024-10-01 has no FineTuning
INPUT_TYPES = ("literal", "uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model")
OUTPUT_TYPES = ("uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model")
INPUT_MODES = ("ReadOnlyMount", "ReadWriteMount", "Download", "Direct", "EvalMount", "EvalDownload")
OUTPUT_MODES = ("ReadWriteMount", "Upload", "Direct")
LITERAL_PATTERN = re.compile(r"[a-zA-Z0-9_]")  # §2.1: unanchored, so one word character anywhere
MUTABLE = ("description", "tags", "displayName", "properties", "isArchived")  # §1.3
READ_ONLY_TOP = ("id", "name", "type", "systemData")  # §2, §6.1
SERVER_OWNED = ("status", "services")  # readOnly status; services.*.status/errorMessage are readOnly too
SYSTEM_PROPERTY_KEYS = ("runSource", "runType", "ContentSnapshotId")  # §6.1
SYSTEM_PROPERTY_PREFIXES = ("azureml.", "mlflow.source.")
DEFAULTS: dict[str, Any] = {
    "displayName": None,
    "experimentName": "Default",  # §2: default "Default"
    "description": None,
    "tags": {},
    "properties": {},
    "isArchived": False,
    "identity": None,
    "componentId": None,
    "computeId": None,
    "notificationSetting": None,
}
PIPELINE_DEFAULTS: dict[str, Any] = {
    "inputs": {},
    "outputs": {},
    "jobs": {},
    "settings": {},
    "sourceJobId": None,
}


def is_system_property(key: str) -> bool:
    """A `properties.properties` key the service writes itself (azureml-jobs.md §6.1)."""
    return key in SYSTEM_PROPERTY_KEYS or key.startswith(SYSTEM_PROPERTY_PREFIXES)


def _detail(target: str, message: str) -> dict[str, Any]:
    return {"code": "Invalid", "target": target, "message": message}


def problems(name: str, body: Any, strict: bool) -> list[dict[str, Any]]:
    """Every reason to refuse this PUT, as ARM error `details` (empty: valid).

    `strict` also refuses read-only fields and system-owned user properties that a client should
    have stripped (azureml-jobs.md §6.1); by default they are ignored, as the reference leaves open.
    """
    found: list[dict[str, Any]] = []
    if not NAME_PATTERN.fullmatch(name):
        found.append(_detail("name", f"'{name}' must match ^[a-zA-Z0-9][a-zA-Z0-9\\-_]{{0,254}}$."))
    if not isinstance(body, Mapping) or not isinstance(body.get("properties"), Mapping):
        found.append(_detail("properties", "The request body must be an object with a 'properties' object."))
        return found
    props = body["properties"]
    if props.get("jobType") not in JOB_TYPES:
        found.append(
            _detail("properties.jobType", f"jobType is required and must be one of {', '.join(JOB_TYPES)}.")
        )
    for key in ("displayName", "description", "experimentName", "computeId", "componentId", "sourceJobId"):
        if props.get(key) is not None and not isinstance(props[key], str):
            found.append(_detail(f"properties.{key}", f"{key} must be a string."))
    for key in ("tags", "properties"):
        value = props.get(key)
        if value is not None and not (
            isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())
        ):
            found.append(_detail(f"properties.{key}", f"{key} must map strings to strings."))
    if props.get("isArchived") is not None and not isinstance(props["isArchived"], bool):
        found.append(_detail("properties.isArchived", "isArchived must be a boolean."))
    for key in ("jobs", "settings"):
        if props.get(key) is not None and not isinstance(props[key], Mapping):
            found.append(_detail(f"properties.{key}", f"{key} must be an object."))
    found += _input_problems(props.get("inputs"))
    found += _output_problems(props.get("outputs"))
    if strict:
        found += _read_only_problems(body, props)
    return found


def _input_problems(inputs: Any) -> list[dict[str, Any]]:
    if inputs is None:
        return []
    if not isinstance(inputs, Mapping):
        return [_detail("properties.inputs", "inputs must be an object.")]
    found = []
    for key, value in inputs.items():
        target = f"properties.inputs.{key}"
        if value is None:
            continue
        kind = value.get("jobInputType") if isinstance(value, Mapping) else None
        if kind not in INPUT_TYPES:  # §2.1: the discriminator is jobInputType, lower-case values
            found.append(
                _detail(
                    f"{target}.jobInputType", f"jobInputType is required, one of {', '.join(INPUT_TYPES)}."
                )
            )
        elif kind == "literal":
            literal = value.get("value")
            if not isinstance(literal, str) or not literal or not LITERAL_PATTERN.search(literal):
                found.append(_detail(f"{target}.value", "A literal value must be a non-empty string."))
        else:
            if not isinstance(value.get("uri"), str) or not value["uri"]:
                found.append(_detail(f"{target}.uri", "An asset input needs a uri."))
            if value.get("mode") is not None and value["mode"] not in INPUT_MODES:
                found.append(_detail(f"{target}.mode", f"mode must be one of {', '.join(INPUT_MODES)}."))
    return found


def _output_problems(outputs: Any) -> list[dict[str, Any]]:
    if outputs is None:
        return []
    if not isinstance(outputs, Mapping):
        return [_detail("properties.outputs", "outputs must be an object.")]
    found = []
    for key, value in outputs.items():
        target = f"properties.outputs.{key}"
        if value is None:
            continue
        if not isinstance(value, Mapping) or value.get("jobOutputType") not in OUTPUT_TYPES:
            found.append(
                _detail(
                    f"{target}.jobOutputType", f"jobOutputType is required, one of {', '.join(OUTPUT_TYPES)}."
                )
            )
        elif value.get("mode") is not None and value["mode"] not in OUTPUT_MODES:
            found.append(_detail(f"{target}.mode", f"mode must be one of {', '.join(OUTPUT_MODES)}."))
    return found


def _read_only_problems(body: Mapping[str, Any], props: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = [_detail(key, f"'{key}' is read-only.") for key in READ_ONLY_TOP if key in body]
    if "status" in props:
        found.append(_detail("properties.status", "'status' is read-only."))
    for service, value in (props.get("services") or {}).items():
        for key in ("status", "errorMessage"):
            if isinstance(value, Mapping) and value.get(key) is not None:
                found.append(_detail(f"properties.services.{service}.{key}", f"'{key}' is read-only."))
    for key in props.get("properties") or {}:
        if is_system_property(key):
            found.append(_detail(f"properties.properties.{key}", "System properties are set by the service."))
    return found


def normalise(props: Mapping[str, Any]) -> dict[str, Any]:
    """The properties the service stores for a valid PUT: defaults filled, server-owned fields dropped,
    system properties (re)computed, including `azureml.parameters` from the literal inputs (§2.1)."""
    stored = {key: copy.deepcopy(value) for key, value in props.items() if key not in SERVER_OWNED}
    defaults = {**DEFAULTS, **(PIPELINE_DEFAULTS if props.get("jobType") == "Pipeline" else {})}
    for key, value in defaults.items():
        if stored.get(key) is None:
            stored[key] = copy.deepcopy(value)
    if isinstance(stored.get("inputs"), dict):  # an empty input is omitted, never sent as "" (§1.3)
        stored["inputs"] = {k: v for k, v in stored["inputs"].items() if v is not None}
    inputs = stored.get("inputs") or {}
    for value in inputs.values():
        value.setdefault("description", None)
    for value in (stored.get("outputs") or {}).values():
        if isinstance(value, dict):
            value.setdefault("description", None)
            value.setdefault("mode", "ReadWriteMount")  # §2.4: the default OutputDeliveryMode
            value.setdefault("uri", None)
    user = {k: v for k, v in stored["properties"].items() if not is_system_property(k)}
    stored["properties"] = {**user, **_system_properties(stored.get("jobType"), inputs)}
    return stored


def _system_properties(job_type: Any, inputs: Mapping[str, Any]) -> dict[str, str]:
    if job_type != "Pipeline":
        return {"runSource": "MFE", "runType": "HTTP"}
    literals = {
        key: value["value"]
        for key, value in inputs.items()
        if isinstance(value, Mapping) and value.get("jobInputType") == "literal"
    }
    return {
        "azureml.runsource": "azureml.PipelineRun",
        "runSource": "MFE",
        "runType": "HTTP",
        "azureml.parameters": json.dumps(literals, separators=(",", ":")),
    }


def immutable_view(props: Mapping[str, Any]) -> Any:
    """What must be identical for a PUT on an existing name to succeed (§1.3): all but the mutable fields,
    with nulls dropped (a client that strips nulls sends the same job, §6.1)."""
    return _drop_nulls({k: v for k, v in props.items() if k not in MUTABLE and k not in SERVER_OWNED})


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def changed_user_properties(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """User property keys whose value a PUT tries to change: MFE only allows adding new ones (§1.3)."""
    return sorted(k for k, v in new.items() if not is_system_property(k) and k in old and old[k] != v)
