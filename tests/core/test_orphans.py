import json

import pytest

from core.orphans import Orphan, orphan_of

REQUEST = {"jobType": "azureml_pipeline", "connection": "aml", "job": "train", "runId": "r1"}
LIVE = {"id": "r1", "status": "Running", "remoteRunId": "runbridge-r1"}


def instance(runtime: str = "Terminated", record: object = LIVE, request: object = REQUEST) -> dict:
    return {"instanceId": "r1", "runtimeStatus": runtime, "customStatus": record, "input": {"request": request},
            "lastUpdatedTime": "2026-03-01T00:05:00Z"}


@pytest.mark.parametrize("runtime", ["Terminated", "Failed"])
def test_a_stopped_instance_whose_record_shows_a_live_remote_job_is_an_orphan(runtime):
    assert orphan_of(instance(runtime)) == Orphan("r1", REQUEST, "runbridge-r1", "2026-03-01T00:05:00Z")


def test_payloads_sent_as_json_text_are_read_too():
    raw = {**instance(), "customStatus": json.dumps(LIVE), "input": json.dumps({"request": REQUEST})}
    assert orphan_of(raw) == orphan_of(instance())


@pytest.mark.parametrize("runtime", ["Running", "Pending", "Completed", "ContinuedAsNew", "Suspended"])
def test_an_instance_its_orchestrator_still_owns_or_ended_itself_is_not(runtime):
    assert orphan_of(instance(runtime)) is None


@pytest.mark.parametrize("record", [
    {**LIVE, "remoteRunId": None},  # stopped before anything was submitted
    {**LIVE, "status": "Success"}, {**LIVE, "status": "Cancelled"}, {**LIVE, "status": "Failed"},  # ended
    {"id": "c1", "status": "Running", "steps": []},  # a chain: its running step is a run of its own
    None, "not json", [LIVE],
])
def test_nothing_remote_or_nothing_live_is_no_orphan(record):
    assert orphan_of(instance(record=record)) is None


def test_an_unknown_status_may_still_be_running_so_it_counts():
    assert orphan_of(instance(record={**LIVE, "status": "Unknown"})) is not None


def test_without_the_request_it_was_started_with_there_is_no_way_to_reach_it():
    assert orphan_of(instance(request=None)) is None
    assert orphan_of({**instance(), "input": "not json"}) is None
