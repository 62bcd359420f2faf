"""Abacus simulator under faults (checklist item 7): 429 TooManyRequestsError, 5xx with and without errorType,
non-JSON gateway pages, scripted answers, and a runPipeline that was applied but never answered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from simulators.abacus import Answer
from simulators.faults import Fault, FaultKind
from tests.simulators.test_abacus_api import Org, served


@pytest.fixture
def org(clock, http) -> Iterator[Org]:
    with served(clock, http) as org:
        yield org


def test_throttle_is_429_too_many_requests_with_retry_after(org):
    org.server.faults.script(Fault(FaultKind.THROTTLE, "describePipelineVersion", retry_after=7))
    version = org.run()["pipelineVersion"]
    throttled = org.get("describePipelineVersion", pipelineVersion=version)
    org.refused(throttled, 429, "TooManyRequestsError")
    assert throttled.headers["Retry-After"] == "7"
    assert org.status(version) == "PENDING"
    stats = org.stats()
    assert (stats["faultsInjected"], stats["faultsByOperation"]) == (1, {"describePipelineVersion": 1})


def test_a_throttled_run_pipeline_starts_nothing(org):
    org.server.faults.script(Fault(FaultKind.THROTTLE, "runPipeline"))
    org.refused(org.post("runPipeline", pipelineId="simtrain01"), 429, "TooManyRequestsError")
    assert org.stats()["remoteJobsCreated"] == 0


def test_retry_after_can_be_left_out_of_429s(clock, http):
    # §6: whether Abacus sends Retry-After is undocumented; a client must back off without it too
    with served(clock, http, retry_after_on_throttle=False) as other:
        other.server.faults.script(Fault(FaultKind.THROTTLE))
        throttled = other.get("listPipelines")
        assert throttled.status_code == 429 and "Retry-After" not in throttled.headers


def test_a_500_has_no_error_type_unless_configured(org, clock, http):
    # §1: issue #10, "ApiException(500): Internal server error"
    org.server.faults.script(Fault(FaultKind.SERVER_ERROR), Fault(FaultKind.UNAVAILABLE, retry_after=3))
    body = org.refused(org.get("listPipelines"), 500, None)
    assert body["error"] == "Internal server error"
    unavailable = org.get("listPipelines")
    org.refused(unavailable, 503, None)
    assert unavailable.headers["Retry-After"] == "3"
    with served(clock, http, server_error_type="InternalServerError") as other:
        other.server.faults.script(Fault(FaultKind.SERVER_ERROR))
        other.refused(other.get("listPipelines"), 500, "InternalServerError")


def test_gateway_errors_can_be_html_pages_that_are_not_json(clock, http):
    with served(clock, http, html_gateway_errors=True) as other:
        other.server.faults.script(Fault(FaultKind.UNAVAILABLE))
        page = other.get("listPipelines")
        assert page.status_code == 503
        assert page.headers["Content-Type"] == "text/html"
        assert "<h1>503 Service Temporarily Unavailable</h1>" in page.text
        with pytest.raises(ValueError):
            page.json()
        assert page.headers["x-request-id"]
        assert other.get("listPipelines").status_code == 200


def test_scripted_answers_cover_502_and_504_before_the_key_check(org):
    script = [
        {"status": 502, "operation": "describePipelineVersion", "html": True, "times": 2},
        {"status": 504, "operation": "listPipelines"},
        {"status": 409, "errorType": "NotReadyError", "error": "not yet"},
    ]
    pending = org.sim("POST", "answers", json=script).json()["pending"]
    assert [(a["status"], a["errorType"], a["times"]) for a in pending] == [
        (502, None, 2),
        (504, "GatewayTimeoutError", 1),
        (409, "NotReadyError", 1),
    ]
    for _ in range(2):
        bad_gateway = org.call("GET", "describePipelineVersion", key=None, pipelineVersion="x")
        assert bad_gateway.status_code == 502 and "502 Bad Gateway" in bad_gateway.text
    org.refused(org.get("listPipelines"), 504, "GatewayTimeoutError")
    body = org.refused(org.post("describePipeline", pipelineId="simtrain01"), 409, "NotReadyError")
    assert body["error"] == "not yet"
    assert org.sim("GET", "answers").json() == {"pending": []}
    assert org.stats()["answersInjected"] == 4
    assert org.sim("POST", "answers", json={"status": 200}).status_code == 400
    org.server.platform.script_answers(Answer(503, retry_after=2))
    assert org.sim("DELETE", "answers").json() == {"pending": []}
    assert org.ok(org.get("listPipelines"))


def test_a_dropped_run_pipeline_starts_nothing(org):
    org.server.faults.script(Fault(FaultKind.DROP, "runPipeline"))
    with pytest.raises(requests.ConnectionError):
        org.post("runPipeline", pipelineId="simtrain01")
    assert org.stats()["remoteJobsCreated"] == 0


def test_a_run_pipeline_that_timed_out_has_started_a_version_to_reconcile(org):
    # §1 "What the SDK retries" / §6 gotcha 2: never re-send runPipeline blind; look in listPipelineVersions
    org.server.faults.script(Fault(FaultKind.APPLY_THEN_TIMEOUT, "runPipeline", seconds=0.3))
    with pytest.raises(requests.ReadTimeout):
        org.http.post(
            f"{org.base}/api/v0/runPipeline",
            json={"pipelineId": "simtrain01"},
            headers={"apiKey": "sim-abacus-key"},
            timeout=0.1,
        )
    newest = org.ok(org.post("listPipelineVersions", pipelineId="simtrain01", limit=1))[0]
    assert newest["status"] == "PENDING"
    assert org.stats()["remoteJobsCreated"] == 1


def test_a_run_pipeline_can_answer_504_after_starting_the_version(org):
    org.server.faults.script(Fault(FaultKind.APPLY_THEN_TIMEOUT, "runPipeline", seconds=0, status=504))
    org.refused(org.post("runPipeline", pipelineId="simtrain01"), 504, "GatewayTimeoutError")
    assert org.stats()["remoteJobsCreated"] == 1
