"""The follow loop against a scripted API: an outage while following is ridden out, a long one ends in 5,
and the cancel grace bounds the wait after a signal."""

from __future__ import annotations

import io
from typing import Any

import pytest

from runbridge_cli.api import Answer, Unreachable
from runbridge_cli.follow import Follower, FollowOptions, Target
from runbridge_cli.interrupts import Interrupts
from runbridge_cli.outcome import ExitCode
from runbridge_cli.report import Reporter

from .conftest import FastClock


class ScriptedApi:
    """Answers GETs from a script: a record, or an exception to raise; the last entry repeats."""

    def __init__(self, script: list[Any]) -> None:
        self.script, self.clock, self.calls = script, FastClock(), []

    def call(self, method: str, path: str, **kw: Any) -> Answer:
        self.calls.append((method, path))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return Answer(202 if method == "POST" else 200, step)


def _follow(api: ScriptedApi, interrupts: Interrupts | None = None, **options: Any) -> tuple[ExitCode, str]:
    err = io.StringIO()
    follower = Follower(api, Reporter(io.StringIO(), err, api.clock), interrupts or Interrupts(err),  # type: ignore[arg-type]
                        FollowOptions(**options))
    _, code = follower.follow(Target("run", "r1"), Answer(202, {"id": "r1", "status": "Starting"}))
    return code, err.getvalue()


def test_an_outage_while_following_is_ridden_out():
    down = Unreachable("runbridge unreachable after 6 tries")
    api = ScriptedApi([down, down, down, {"id": "r1", "status": "Success"}])
    code, said = _follow(api)
    assert code == ExitCode.SUCCESS and said.count("still following run r1") == 3


def test_a_long_outage_while_following_ends_in_5():
    api = ScriptedApi([{"id": "r1", "status": "Running"}, Unreachable("runbridge unreachable after 6 tries")])
    with pytest.raises(Unreachable):
        _follow(api)
    assert len(api.calls) == 1 + 10  # one good read, then policy.unreachable_reads failed ones


def test_after_a_signal_the_cancel_is_sent_and_the_grace_bounds_the_wait():
    api = ScriptedApi([{"id": "r1", "status": "Running"}])
    interrupts = Interrupts(io.StringIO())
    interrupts.count = 1  # as the handler leaves it
    code, said = _follow(api, interrupts, cancel_grace=30)
    assert code == ExitCode.CANCELLED and ("POST", "runs/r1/cancel") in api.calls
    assert "cancel sent for run r1" in said and "had not ended after 30 s (--cancel-grace)" in said
    assert sum(api.clock.sleeps) == pytest.approx(30)
