import itertools
import json

import pytest

from core.poll_policy import PollState
from core.protocol import RunError, Submitted
from core.run_record import RUNTIMES_FOR_STATUS, RunRecord, run_from_instance
from core.status import RunStatus

RUNTIMES = ("Pending", "Running", "ContinuedAsNew", "Suspended", "Completed", "Failed", "Terminated")
RECORD = {"id": "r1", "jobType": "azureml_pipeline", "remoteRunId": "x"}


def instance(runtime: str, status: RunStatus | None) -> dict:
    record = None if status is None else {**RECORD, "status": status.value}
    live = runtime not in ("Completed", "Failed", "Terminated")
    return {"instanceId": "r1", "runtimeStatus": runtime, "input": {"request": {"runId": "r1"}},
            "customStatus": record if live or runtime != "Completed" else None,
            "output": record if runtime == "Completed" else None,
            "createdTime": "2026-03-01T00:00:00Z", "lastUpdatedTime": "2026-03-01T00:05:00Z"}


ENDED = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED)
# What an instance can hold: a live one publishes a live record (its terminal record is published in the
# episode that completes it); a completed one's output is its final record; a terminated or failed one
# keeps whatever it last published.
POSSIBLE = [(runtime, status) for runtime, status in itertools.product(RUNTIMES, [None, *RunStatus])
            if (runtime == "Completed") == (status in ENDED) or runtime in ("Failed", "Terminated")]


@pytest.mark.parametrize(("runtime", "status"), POSSIBLE)
def test_every_status_a_record_can_show_is_listed_under_the_runtime_it_has(runtime, status):
    shown = RunStatus(run_from_instance(instance(runtime, status))["status"])
    assert runtime in RUNTIMES_FOR_STATUS[shown], (runtime, status, shown)


def test_a_terminated_or_failed_instance_shows_cancelled_or_failed_whatever_it_last_published():
    assert run_from_instance(instance("Terminated", RunStatus.RUNNING))["status"] == "Cancelled"
    assert run_from_instance(instance("Failed", RunStatus.RUNNING))["status"] == "Failed"


def test_a_continued_run_whose_new_execution_published_nothing_yet_reads_the_record_it_carries():
    carried = {**RECORD, "status": "Running", "remoteRunId": "x", "monitorUrl": "https://m", "polls": 30}
    continued = {"instanceId": "r1", "runtimeStatus": "Running", "customStatus": None,
                 "input": json.dumps({"request": {"runId": "r1"}, "run": carried, "poll": {}}),
                 "createdTime": "2026-03-01T01:00:00Z", "lastUpdatedTime": "2026-03-01T01:00:00Z"}
    assert {k: run_from_instance(continued)[k] for k in carried} == carried


def test_a_status_read_never_shows_a_record_older_than_the_one_the_run_carries():
    carried = {**RECORD, "status": "Running", "polls": 30}
    older = {**RECORD, "status": "Starting", "remoteRunId": None, "polls": 0}
    continued = {"instanceId": "r1", "runtimeStatus": "Running", "customStatus": older,
                 "input": {"request": {"runId": "r1"}, "run": carried, "poll": {}}}
    assert {k: run_from_instance(continued)[k] for k in carried} == carried


# ---- the transitions keep the status contract --------------------------------------------------------------
def _record(**fields):
    return RunRecord(**{"id": "r1", "job_type": "azureml_pipeline", "connection": "c", "job": "j",
                        "created_at": "2026-03-01T00:00:00+00:00", **fields})


def _state(status: RunStatus, polls: int):
    return PollState(start_deadline="2026-03-01T01:00:00+00:00", run_timeout=3600, status=status, polls=polls)


def test_status_only_moves_forward_and_polls_never_decrease():
    running = _record(status=RunStatus.RUNNING, polls=30)
    assert running.polled(_state(RunStatus.STARTING, 3), None).status is RunStatus.RUNNING
    assert running.polled(_state(RunStatus.STARTING, 3), None).polls == 30
    assert running.polled(_state(RunStatus.UNKNOWN, 31), None).status is RunStatus.UNKNOWN
    assert running.polled(_state(RunStatus.SUCCESS, 31), None).status is RunStatus.RUNNING  # `end` publishes ends
    starting = _record()
    assert starting.polled(_state(RunStatus.UNKNOWN, 1), None).status is RunStatus.STARTING  # never ran yet


def test_remote_ids_never_go_back_to_null_or_change():
    submitted = _record().submitted(Submitted("job-1", "https://m/1"))
    again = submitted.submitted(Submitted("job-2", None))
    assert (again.remote_run_id, again.monitor_url) == ("job-1", "https://m/1")


def test_an_ended_record_never_changes():
    ended = _record(status=RunStatus.RUNNING).end(RunStatus.SUCCESS, None, "2026-03-01T02:00:00+00:00")
    assert ended.polled(_state(RunStatus.RUNNING, 99), None) == ended
    assert ended.submitted(Submitted("other")) == ended
    assert ended.end(RunStatus.FAILED, RunError("X", "y"), "later") == ended
    assert ended.with_error(RunError("X", "y")) == ended and ended.with_outputs({"a": "b"}, []) == ended


def test_what_finds_the_remote_job_is_named_once_before_the_submit_and_kept_through_the_end():
    named = _record().submitting("runbridge-r1")
    assert named.submitting("runbridge-other").remote_name == "runbridge-r1"
    ended = named.end(RunStatus.FAILED, RunError("SubmitFailed", "down"), "2026-03-01T02:00:00+00:00")
    assert ended.submitting("x") == ended
    data = ended.to_dict()
    assert data["remoteName"] == "runbridge-r1" and data["remoteRunId"] is None
    assert RunRecord.from_dict(data) == ended and "remoteName" not in RunRecord.from_dict(data).extra


def test_a_record_written_before_remote_names_reads_with_none_and_writes_without_it():
    older = {"id": "r1", "status": "Running", "remoteRunId": "x", "polls": 3}
    record = RunRecord.from_dict(older)
    assert record.remote_name is None and "remoteName" not in record.to_dict()
