"""core/run_steps: the shared step shape, its bounds, usage, and when a step's error names a run's failure."""

from __future__ import annotations

import json

from core.run_steps import (
    MAX_MESSAGE,
    MAX_STEPS,
    STEPS_CHARS,
    RunStep,
    RunSteps,
    StepError,
    Usage,
    cut,
    failure_message,
)
from core.status import RunStatus


def _step(name: str, status: RunStatus = RunStatus.SUCCESS, error: StepError | None = None) -> RunStep:
    return RunStep(name, status, status.value, "2026-01-01T00:00:00+00:00", None, error)


def test_a_step_renders_every_field_of_the_shape():
    step = RunStep("train", RunStatus.FAILED, "Failed", "a", "b", StepError("UserError", "boom"), "https://x")
    assert step.to_dict() == {"name": "train", "status": "Failed", "remoteStatus": "Failed", "startedAt": "a",
                              "endedAt": "b", "error": {"code": "UserError", "message": "boom"},
                              "monitorUrl": "https://x"}


def test_500_steps_render_as_the_first_50_and_a_count_of_the_rest():
    read = RunSteps(tuple(RunStep(f"s{i}", RunStatus.SUCCESS, "ok") for i in range(500)), unlisted=7)
    rendered = read.to_dict(budget=100_000)
    assert len(rendered["items"]) == MAX_STEPS and rendered["items"][-1]["name"] == "s49"
    assert rendered["omitted"] == 450 + 7


def test_steps_that_would_not_fit_the_custom_status_are_counted_not_shown():
    # durable-functions.md §1: the custom status (the run record) is limited to 16 KB of UTF-16 JSON
    read = RunSteps(tuple(_step(f"step-{i}", RunStatus.FAILED, StepError("E", "x" * 1000)) for i in range(500)))
    rendered = read.to_dict()
    shown = len(rendered["items"])
    assert 0 < shown < MAX_STEPS and rendered["items"][-1]["name"] == f"step-{shown - 1}"
    assert rendered["omitted"] == 500 - shown
    assert len(json.dumps(rendered)) <= STEPS_CHARS


def test_messages_and_names_are_cut_to_a_fixed_length():
    long = "x" * 5000
    rendered = RunStep(long, RunStatus.FAILED, "Failed", error=StepError(None, long)).to_dict()
    assert len(rendered["error"]["message"]) == MAX_MESSAGE and rendered["error"]["message"].endswith("…")
    assert len(rendered["name"]) == 120
    assert cut(None) is None and cut(" short ") == "short"


def test_usage_is_read_only_from_a_whole_usage_object():
    assert Usage.from_wire({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}).to_dict() == {
        "promptTokens": 3, "completionTokens": 4, "totalTokens": 7}
    assert Usage.from_wire(None) is None
    assert Usage.from_wire({"prompt_tokens": "3", "completion_tokens": 4, "total_tokens": 7}) is None


def test_an_empty_or_generic_failure_names_the_failing_step_and_carries_its_error():
    steps = RunSteps((_step("prep"), _step("train", RunStatus.FAILED, StepError("UserError", "loss became NaN"))))
    assert failure_message("", steps) == "Step train failed: UserError: loss became NaN"
    assert failure_message(None, steps) == "Step train failed: UserError: loss became NaN"
    assert failure_message("Pipeline has failed child jobs.", steps) == (
        "Step train failed: UserError: loss became NaN (pipeline: Pipeline has failed child jobs.)")


def test_a_failure_that_already_carries_the_step_error_or_has_no_failed_step_stays_as_it_is():
    steps = RunSteps((_step("train", RunStatus.FAILED, StepError(None, "loss became NaN\nTraceback...")),))
    assert failure_message("Pipeline step train failed: loss became NaN", steps) == (
        "Pipeline step train failed: loss became NaN")
    assert failure_message("own", RunSteps((_step("a"),))) == "own"
    assert failure_message("own", None) == "own"
    assert failure_message("", RunSteps((_step("t", RunStatus.FAILED),))) == ""


def test_a_start_known_from_an_earlier_read_is_kept_when_the_new_read_has_none():
    from core.run_steps import carry_starts

    earlier = {"items": [{"name": "train", "status": "Running", "startedAt": "t1"}], "omitted": 0}
    later = {"items": [{"name": "train", "status": "Success", "startedAt": None, "endedAt": "t2"},
                       {"name": "evaluate", "status": "Success", "startedAt": None}], "omitted": 0}
    assert carry_starts(earlier, later) == {"items": [
        {"name": "train", "status": "Success", "startedAt": "t1", "endedAt": "t2"},
        {"name": "evaluate", "status": "Success", "startedAt": None}], "omitted": 0}
    assert carry_starts(None, later) == later
    fresh = {"items": [{"name": "train", "startedAt": "t9"}], "omitted": 0}
    assert carry_starts(earlier, fresh) == fresh  # a start the platform gives wins
