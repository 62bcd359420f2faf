import itertools

import pytest

from core.run_record import RUNTIMES_FOR_STATUS, run_from_instance
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


@pytest.mark.parametrize(("runtime", "status"), itertools.product(RUNTIMES, [None, *RunStatus]))
def test_every_status_a_record_can_show_is_listed_under_the_runtime_it_has(runtime, status):
    if runtime == "Completed" and status not in (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED):
        pytest.skip("a completed run's output is its final record, whose status is a terminal one")
    if runtime not in ("Completed", "Failed", "Terminated") and status in (RunStatus.SUCCESS, RunStatus.FAILED,
                                                                           RunStatus.CANCELLED):
        pytest.skip("a run publishes its terminal record in the episode that completes it")
    shown = RunStatus(run_from_instance(instance(runtime, status))["status"])
    assert runtime in RUNTIMES_FOR_STATUS[shown], (runtime, status, shown)


def test_a_terminated_or_failed_instance_shows_cancelled_or_failed_whatever_it_last_published():
    assert run_from_instance(instance("Terminated", RunStatus.RUNNING))["status"] == "Cancelled"
    assert run_from_instance(instance("Failed", RunStatus.RUNNING))["status"] == "Failed"
