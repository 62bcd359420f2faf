"""Run parameters: which ones go to the remote job, and which ones its outputs fill in.

A parameter's direction decides both (the seeds' table): Input is sent, Output is written back from the
job's outputs, InputOutput is both (the agent's `thread_id`: given → reused, then set to the thread used).
Values are strings, as the scheduler keeps them and as Azure ML literal inputs require
(reference/azureml-jobs.md 2.1); `render_value` is the one rule for turning JSON values into them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum


class Direction(str, Enum):
    """Which way a parameter flows; the value is the canonical wire spelling."""

    INPUT = "Input"  # sent to the job, never overwritten
    OUTPUT = "Output"  # not sent; filled from the job's outputs when it ends
    INPUT_OUTPUT = "InputOutput"  # sent, then overwritten from the job's outputs

    def __str__(self) -> str:
        return self.value

    @property
    def sends(self) -> bool:
        """True when the value goes to the remote job."""
        return self is not Direction.OUTPUT

    @property
    def receives(self) -> bool:
        """True when the job's outputs write the value back."""
        return self is not Direction.INPUT

    @classmethod
    def parse(cls, text: str) -> Direction:
        """Read a direction in any letter case; `Input&Output` (the seeds' spelling) means InputOutput."""
        found = _SPELLINGS.get(text.casefold()) if isinstance(text, str) else None
        if found is None:
            raise ValueError("must be one of Input, Output, InputOutput (or Input&Output)")
        return found


_SPELLINGS = {
    "input": Direction.INPUT,
    "output": Direction.OUTPUT,
    "inputoutput": Direction.INPUT_OUTPUT,
    "input&output": Direction.INPUT_OUTPUT,
}


@dataclass(frozen=True)
class Parameter:
    """One named parameter of a run. `value` None means "not given": nothing is sent for it."""

    name: str
    direction: Direction
    value: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The wire form, as a run request or run status carries it."""
        body = {"name": self.name, "direction": self.direction.value}
        if self.value is not None:
            body["value"] = self.value
        return body


def render_value(value: object) -> str | None:
    """Turn a JSON value into a parameter string, so every platform sees the same text.

    Strings pass unchanged; booleans become `true`/`false` and numbers their JSON text (`10`, `0.01`,
    `1e-05`), i.e. JSON rendering, not Python's `str(True)` = `True`: a platform that wants typed values
    (Abacus variable types) can parse them back. Arrays and objects become compact JSON text (outputs
    only: requests refuse them). None stays None (no value).
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else json.dumps(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    raise TypeError(f"cannot render a {type(value).__name__} as a parameter value")


def inputs_to_send(parameters: Iterable[Parameter]) -> dict[str, str]:
    """Name → value of the Input and InputOutput parameters that have a value."""
    return {p.name: p.value for p in parameters if p.direction.sends and p.value is not None}


def outputs_to_write(parameters: Iterable[Parameter]) -> list[Parameter]:
    """The Output and InputOutput parameters, which the job's outputs fill in when it ends."""
    return [p for p in parameters if p.direction.receives]


def apply_outputs(parameters: Iterable[Parameter], outputs: Mapping[str, object]) -> list[Parameter]:
    """All parameters, with Output/InputOutput values replaced by the job's outputs of the same name.

    Names match exactly (Azure ML names are case-sensitive). A parameter with no matching output keeps
    its value; outputs that match no parameter are ignored here (the run status lists them all).
    """
    return [
        Parameter(p.name, p.direction, render_value(outputs[p.name]))
        if p.direction.receives and p.name in outputs
        else p
        for p in parameters
    ]


def outputs_missing(parameters: Iterable[Parameter], outputs: Mapping[str, object]) -> list[str]:
    """The Output parameters (promised by the request, with no value going in) that `outputs` lacks: a run
    is Success only when this is empty (DESIGN "Success means every promised output was read")."""
    return [p.name for p in parameters if p.direction is Direction.OUTPUT and p.name not in outputs]


def outputs_unavailable_message(run: Mapping[str, object], missing: list[str], error: object) -> str:
    """Why a run whose remote job succeeded is not Success: its outputs were not read (the read's `error`,
    a `{"code", "message"}`), or lack promised ones (`missing`); where the job and its outputs are."""
    job = f"The remote job {run.get('remoteRunId')} succeeded"
    if isinstance(error, Mapping):
        why = f"its outputs could not be read ({error.get('message') or error.get('code')})"
    else:
        why = f"it gave no value for the promised output(s) {', '.join(missing)}"
    where = f" Find its outputs at {run['monitorUrl']}." if run.get("monitorUrl") else ""
    return f"{job}, but {why}.{where}"
