"""Chains: an ordered list of run requests where a parameter may take an earlier step's output.

A binding is a parameter value of the form `{"from": "<step name>", "output": "<parameter name>"}`; it
must name an earlier step and one of that step's Output/InputOutput parameters, which is checked before
anything runs. Each step runs as its own run, with the run id `<chain id>-<step name>`, so the run API
shows it like any other run.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import ValidationError
from core.parameters import Direction
from core.run_request import RUN_ID, KnownConnections, RunRequest, parse_run_request

STEP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{0,23}")
CHAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,38}")
MAX_STEPS = 20
_CHAIN_FIELDS = ("chainId", "steps")


@dataclass(frozen=True)
class Binding:
    """A parameter that takes `output` of step `step`."""

    step: str
    output: str

    def to_dict(self) -> dict[str, str]:
        return {"from": self.step, "output": self.output}


@dataclass(frozen=True)
class ChainStep:
    """One step: its name, its checked run request (bound parameters without a value) and its bindings."""

    name: str
    request: RunRequest
    bindings: Mapping[str, Binding]  # parameter name -> binding

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "request": self.request.to_dict(),
                "bindings": {k: b.to_dict() for k, b in self.bindings.items()}}


@dataclass(frozen=True)
class ChainRequest:
    chain_id: str | None
    steps: tuple[ChainStep, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"chainId": self.chain_id, "steps": [s.to_dict() for s in self.steps]}


def step_run_id(chain_id: str, step: str) -> str:
    """The run id of a chain's step: readable, unique per chain, valid as a run id."""
    return f"{chain_id}-{step}"


def parse_chain_request(body: object, *, known_job_types: Collection[str],
                        known_connections: KnownConnections) -> ChainRequest:
    """Check a chain body; ValidationError names the first wrong field (`steps[1].parameters[0].value`)."""
    if not isinstance(body, Mapping):
        raise ValidationError("$", "the body must be a JSON object")
    for key in body:
        if key not in _CHAIN_FIELDS:
            raise ValidationError(str(key) if isinstance(key, str) else "$", "is not a field of a chain request")
    chain_id = body.get("chainId")
    if chain_id is not None and (not isinstance(chain_id, str) or not CHAIN_ID.fullmatch(chain_id)):
        raise ValidationError("chainId", "must be 1-39 letters, digits, '-' or '_', starting with a letter or digit")
    raw_steps = body.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ValidationError("steps", "must be a non-empty list of run requests")
    if len(raw_steps) > MAX_STEPS:
        raise ValidationError("steps", f"may hold at most {MAX_STEPS} steps")
    steps: list[ChainStep] = []
    outputs_of: dict[str, set[str]] = {}
    for index, raw in enumerate(raw_steps):
        where = f"steps[{index}]"
        step = _parse_step(raw, where, outputs_of, known_job_types, known_connections)
        outputs_of[step.name] = {p.name for p in step.request.parameters if p.direction.receives}
        steps.append(step)
    return ChainRequest(chain_id, tuple(steps))


def _parse_step(raw: object, where: str, outputs_of: Mapping[str, set[str]], known_job_types: Collection[str],
                known_connections: KnownConnections) -> ChainStep:
    if not isinstance(raw, Mapping):
        raise ValidationError(where, "must be a run request object with a name")
    name = raw.get("name")
    if not isinstance(name, str) or not STEP_NAME.fullmatch(name):
        raise ValidationError(f"{where}.name", "must be 1-24 letters, digits or '_', starting with a letter or digit")
    if name in outputs_of:
        raise ValidationError(f"{where}.name", "is already the name of an earlier step")
    if "runId" in raw:
        raise ValidationError(f"{where}.runId", "is set by the chain (<chainId>-<step name>)")
    body = {k: v for k, v in raw.items() if k != "name"}
    bindings: dict[str, Binding] = {}
    parameters = body.get("parameters")
    if isinstance(parameters, list):
        body["parameters"] = [_unbind(p, f"{where}.parameters[{i}]", outputs_of, bindings)
                              for i, p in enumerate(parameters)]
    try:
        request = parse_run_request(body, known_job_types=known_job_types, known_connections=known_connections)
    except ValidationError as exc:
        field = exc.field if exc.field == "$" else f"{where}.{exc.field}"
        raise ValidationError(field, exc.reason, exc.code) from None
    return ChainStep(name, request, bindings)


def _unbind(parameter: object, where: str, outputs_of: Mapping[str, set[str]],
            bindings: dict[str, Binding]) -> object:
    if not isinstance(parameter, Mapping) or not isinstance(parameter.get("value"), Mapping):
        return parameter
    value = parameter["value"]
    if set(value) != {"from", "output"} or not all(isinstance(v, str) for v in value.values()):
        raise ValidationError(f"{where}.value", 'a binding is exactly {"from": "<step>", "output": "<parameter>"}')
    if value["from"] not in outputs_of:
        raise ValidationError(f"{where}.value", "binds to a step that does not run before this one")
    if value["output"] not in outputs_of[value["from"]]:
        raise ValidationError(f"{where}.value", "binds to a parameter that is not an output of that step")
    direction = parameter.get("direction")
    try:
        sends = Direction.parse(direction).sends if isinstance(direction, str) else True
    except ValueError:
        sends = True  # parse_run_request names the bad direction
    if not sends:
        raise ValidationError(f"{where}.value", "only Input and InputOutput parameters take a binding")
    name = parameter.get("name")
    if isinstance(name, str):
        bindings[name] = Binding(value["from"], value["output"])
    # Checked without a value (an Input with no value is valid); the value is filled in when the step runs.
    return {k: v for k, v in parameter.items() if k != "value"}


# The values a parameter type holds, for the types discovery names (JobParameter.type, any letter case):
# Abacus variable types (reference/abacus-pipelines.md §4), Azure ML output types, which are always asset
# locations (reference/azureml-jobs.md §2.4), the agent's boolean option. A type not listed may hold any text.
_URI_TYPES = ("uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model")
_SHAPES = {"integer": "number", "float": "number", "boolean": "boolean", "json": "object", "list": "array",
           **{kind: "location" for kind in _URI_TYPES}}


def binding_problem(output_type: str, input_type: str) -> str | None:
    """Why no value of an `output_type` output can fit an `input_type` input (an Azure ML output's URI into
    an Abacus INTEGER), or None when some may; a value that may fit is checked when the step starts."""
    given, wanted = _SHAPES.get(output_type.casefold()), _SHAPES.get(input_type.casefold())
    if given is None or wanted is None or given == wanted:
        return None
    return f"binds a {output_type} output (a {given}) to an input of type {input_type}, which takes a {wanted}"


def resolve(step: Mapping[str, Any], finished: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The step's run request with each bound value replaced by the earlier step's output value.

    `finished` maps step name to its run record. Pure: the chain orchestrator calls it on replay too.
    """
    request = dict(step["request"])
    bindings = step.get("bindings") or {}
    params = []
    for parameter in request.get("parameters") or []:
        binding = bindings.get(parameter["name"])
        if binding is not None:
            value = _output_value(finished[binding["from"]], binding["output"])
            parameter = {k: v for k, v in parameter.items() if k != "value"}
            if value is not None:
                parameter["value"] = value
        params.append(parameter)
    request["parameters"] = params
    return request


def _output_value(run: Mapping[str, Any], name: str) -> str | None:
    for parameter in run.get("parameters") or []:
        if parameter.get("name") == name and parameter.get("value") is not None:
            return parameter["value"]
    value = (run.get("outputs") or {}).get(name)
    return None if value is None else str(value)


def valid_chain_id(text: str) -> bool:
    return bool(CHAIN_ID.fullmatch(text or "")) and bool(RUN_ID.fullmatch(text))


__all__ = ["Binding", "ChainRequest", "ChainStep", "binding_problem", "parse_chain_request", "resolve",
           "step_run_id", "valid_chain_id"]
