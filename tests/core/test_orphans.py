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


# ---- submits that never got an answer (issue 19) ---------------------------------------------------------
LOST = {"id": "r1", "status": "Failed", "remoteRunId": None, "remoteName": "runbridge-r1",
        "createdAt": "2026-03-01T00:00:00+00:00",
        "error": {"code": "SubmitFailed", "message": "The service is temporarily unavailable."}}


def completed(output: object) -> dict:
    return {**instance("Completed", record=output), "output": output}


@pytest.mark.parametrize("code", ["SubmitFailed", "InternalError"])
def test_a_run_that_ended_without_hearing_back_from_its_submit_is_an_orphan_to_look_for(code):
    found = orphan_of(completed({**LOST, "error": {"code": code, "message": "x"}}))
    assert found == Orphan("r1", REQUEST, None, "2026-03-01T00:05:00Z", {}, "runbridge-r1",
                           "2026-03-01T00:00:00+00:00")
    assert found.shown_as == "runbridge-r1 (never confirmed)"


@pytest.mark.parametrize("output", [
    {**LOST, "remoteName": None},  # a record written before remoteName: nothing to look for by
    {**LOST, "remoteRunId": "runbridge-r1"},  # it was heard back: its run watched it to its end
    {**LOST, "error": {"code": "InvalidParameter", "message": "refused"}},  # refused: nothing was made
    {**LOST, "status": "Cancelled", "error": {"code": "Cancelled", "message": "before it was submitted"}},
    {**LOST, "status": "Success", "error": None},
    None, "not json",
])
def test_a_run_that_ended_otherwise_is_not(output):
    assert orphan_of(completed(output)) is None


@pytest.mark.parametrize("runtime", ["Terminated", "Failed"])
def test_a_run_stopped_while_submitting_is_one_to_look_for(runtime):
    submitting = {"id": "r1", "status": "Starting", "remoteRunId": None, "remoteName": "runbridge-r1"}
    found = orphan_of(instance(runtime, record=submitting))
    assert found is not None and found.remote_run_id is None and found.remote_name == "runbridge-r1"
