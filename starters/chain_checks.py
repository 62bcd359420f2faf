"""A chain is checked whole before anything runs: each step as a single start is, and each binding by type.

Each step gets the platform checks of `starters.start.check_on_platform` (its job exists and takes its
inputs, its connection's credential works), with its bound inputs counted as given (their values come from
an earlier step). Then each binding is checked against the parameter types discovery knows for both jobs
(core.chains.binding_problem): an Azure ML output, a location, never fits an Abacus INTEGER variable.
A platform that can't be reached now defers its checks, as a single start does.
"""

from __future__ import annotations

import logging

from core.chains import ChainRequest, ChainStep, binding_problem
from core.errors import ValidationError
from platforms.base import JobInfo
from platforms.http import PlatformError
from platforms.registry import client_for, get_connection
from starters.start import check_on_platform

log = logging.getLogger("runbridge.start")


class StepRefused(Exception):
    """The platform of step `index` refused its connection (a credential, a key): a 502 naming the step."""

    def __init__(self, index: int, connection: str, error: PlatformError) -> None:
        super().__init__(str(error))
        self.index, self.connection, self.error = index, connection, error

    @property
    def field(self) -> str:
        return f"steps[{self.index}].connection"


def check_chain(chain: ChainRequest) -> None:
    """Raise ValidationError at `steps[i]...` or StepRefused for the first step or binding that can't run."""
    described: dict[str, JobInfo | None] = {}
    for index, step in enumerate(chain.steps):
        request = step.request.with_given_later(step.bindings)
        try:
            check_on_platform(request)
        except ValidationError as exc:
            field = exc.field if exc.field == "$" else f"steps[{index}].{exc.field}"
            raise ValidationError(field, exc.reason, exc.code) from None
        except PlatformError as exc:
            raise StepRefused(index, step.request.connection, exc) from None
        described[step.name] = _describe(step)
    for index, step in enumerate(chain.steps):
        _check_bindings(index, step, described)


def _describe(step: ChainStep) -> JobInfo | None:
    """The step's job as discovery lists it; None when there are no bindings to check or it can't be read now."""
    connection = get_connection(step.request.connection)
    if connection is None:
        return None
    try:
        return client_for(connection).describe(step.request.job)
    except PlatformError as exc:
        log.warning("could not read the parameter types of %s on %s now (%s); its bindings are checked when "
                    "it starts", step.request.job, step.request.connection, exc.code)
        return None


def _check_bindings(index: int, step: ChainStep, described: dict[str, JobInfo | None]) -> None:
    target = described.get(step.name)
    if target is None:
        return
    inputs = {p.name: p.type for p in target.parameters if p.direction != "Output"}
    for position, parameter in enumerate(step.request.parameters):
        binding = step.bindings.get(parameter.name)
        source = described.get(binding.step) if binding else None
        if binding is None or source is None or parameter.name not in inputs:
            continue
        outputs = {p.name: p.type for p in source.parameters if p.direction != "Input"}
        if binding.output not in outputs:
            continue
        problem = binding_problem(outputs[binding.output], inputs[parameter.name])
        if problem:
            raise ValidationError(f"steps[{index}].parameters[{position}].value", problem)
