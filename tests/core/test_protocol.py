"""The run protocol (core/protocol.py): typed results that read every shape history may hold."""

from __future__ import annotations

import pytest

from core.protocol import (
    ActivityCall,
    ActivityError,
    CancelSent,
    OutputsRead,
    Polled,
    RunInput,
    Submitted,
    read_result,
)
from core.status import ErrorCode, RunStatus

CODES = {c.value for c in ErrorCode}


@pytest.mark.parametrize("result", [
    Submitted("r1", "https://m", "Queued", {"thread_id": "t"}, {"workspace": "ws"}),
    Polled(RunStatus.RUNNING, "Running", "2026-01-01T00:00:00+00:00"),
    CancelSent(),
    OutputsRead({"model_uri": "azureml://x"}),
], ids=lambda r: type(r).__name__)
def test_every_result_reads_back_what_it_wrote(result):
    assert type(result).from_dict(result.to_dict()) == result


def test_an_error_reads_back_with_its_code_from_every_activity():
    error = ActivityError.from_dict({"ok": False, "transient": True, "busy": False, "retryAfter": 30,
                                     "error": {"code": "PlatformRejected", "message": "throttled"}})
    for kind in (Submitted, Polled, CancelSent, OutputsRead):
        assert kind.from_dict(error.to_dict()) == error
    assert error.transient and error.retry_after == 30 and error.code in CODES


# the shapes written before core/protocol.py existed (tests/replay/recorded holds real ones)
def test_an_old_transient_poll_result_is_an_error_with_its_text():
    old = read_result("poll_run", {"transient": True, "retryAfter": 5, "error": "Transient HTTP 503: busy"})
    assert isinstance(old, ActivityError) and old.transient and old.retry_after == 5
    assert old.error.message == "Transient HTTP 503: busy" and old.code in CODES


def test_an_old_poll_result_with_its_error_as_text_and_its_code_beside_it():
    old = read_result("poll_run", {"status": "Failed", "remoteStatus": None, "errorCode": "NotFound",
                                   "error": "the job is gone"})
    assert old == Polled(RunStatus.FAILED, None, error=old.error)
    assert (old.error.code, old.error.message, old.error_code) == ("NotFound", "the job is gone", ErrorCode.NOT_FOUND)


def test_old_submit_and_cancel_failures():
    submit = read_result("submit_run", {"ok": False, "error": {"code": "InvalidParameter", "message": "epochs"}})
    assert isinstance(submit, ActivityError) and submit.code == ErrorCode.INVALID_PARAMETER.value
    cancel = read_result("cancel_run", {"ok": False, "transient": False, "error": "PlatformRejected: no"})
    assert isinstance(cancel, ActivityError) and cancel.code in CODES and cancel.error.message == "PlatformRejected: no"
    assert read_result("submit_run", {"ok": True, "remoteRunId": "r", "monitorUrl": None}) == Submitted("r")


def test_old_run_inputs_of_every_kind_of_execution():
    request = {"jobType": "azureml_pipeline", "runId": "r1"}
    first = RunInput.from_dict('"{\\"request\\": {\\"jobType\\": \\"azureml_pipeline\\", \\"runId\\": \\"r1\\"}}"')
    assert first == RunInput.first(request) and not first.continued
    polling = RunInput.from_dict({"request": request, "run": {"status": "Running"}, "poll": {"polls": 30},
                                  "wait": 60, "cancelSent": True, "moments": [{"event": "submitted"}]})
    assert polling.polling and polling.cancel_sent and polling.wait == 60.0 and polling.moments
    assert RunInput.from_dict(polling.to_dict()) == polling
    waiting = RunInput.from_dict({"request": request, "run": {"status": "Starting"},
                                  "waiting": {"poll": {}, "wait": 5.0}})
    assert waiting.continued and not waiting.polling
    with pytest.raises(ValueError):
        RunInput.from_dict({"chain": {}})


def test_an_old_activity_input_has_no_coordinates_and_reads_all_the_same():
    call = ActivityCall.from_dict({"request": {"runId": "r1"}, "remoteRunId": "x"})
    assert call.coordinates == {} and call.remote_run_id == "x"
    assert ActivityCall.from_dict(call.to_dict()) == call
