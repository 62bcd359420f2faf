"""Azure ML simulator under faults: ARM error shapes for 429/5xx, dropped and timed-out calls, quotas (§3)."""

from __future__ import annotations

import pytest
import requests

from simulators.faults import Fault, FaultKind


def test_throttle_is_429_with_retry_after_in_arm_shape(ws, azure_ml):
    azure_ml.faults.script(Fault(FaultKind.THROTTLE, "Jobs_Get", retry_after=5))
    response = ws.get("train-pipeline")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    assert response.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    assert response.json()["error"]["code"] == "TooManyRequests"
    assert ws.get("train-pipeline").status_code == 200
    stats = ws.stats()
    assert (stats["faultsInjected"], stats["faultsByOperation"]) == (1, {"Jobs_Get": 1})
    assert stats["requestsByOperation"] == {"Jobs_Get": 2}


def test_server_errors_are_mfe_service_errors(ws, azure_ml):
    azure_ml.faults.script(Fault(FaultKind.SERVER_ERROR), Fault(FaultKind.UNAVAILABLE, retry_after=2))
    error = ws.list().json()["error"]
    assert (error["code"], error["message"]) == ("ServiceError", "InternalServerError")  # §3.1
    assert error["additionalInfo"][0] == {"type": "ComponentName", "info": {"value": "managementfrontend"}}
    unavailable = ws.list()
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "2")
    assert unavailable.json()["error"]["code"] == "ServiceError"


def test_faults_on_run_history_use_its_own_error_shape(ws, azure_ml):
    azure_ml.faults.script(Fault(FaultKind.SERVER_ERROR, "Runs_GetDetails"))
    body = ws.details("train-pipeline").json()
    assert body["error"]["code"] == "ServiceError"
    assert body["componentName"] == "run-history"
    assert ws.details("train-pipeline").status_code == 200


def test_a_dropped_connection_runs_nothing(ws, azure_ml):
    azure_ml.faults.script(Fault(FaultKind.DROP, "Jobs_CreateOrUpdate"))
    body = ws.clone_body("train-pipeline")
    with pytest.raises(requests.ConnectionError):
        ws.put("never", body)
    assert ws.get("never").status_code == 404
    assert ws.stats()["remoteJobsCreated"] == 0


def test_a_put_that_times_out_has_created_the_job_and_a_retry_finds_it(ws, azure_ml):
    # §1.3: the orphaned-PUT case; the client must GET the name, and a re-PUT of the same body is a 200
    azure_ml.faults.script(Fault(FaultKind.APPLY_THEN_TIMEOUT, "Jobs_CreateOrUpdate", seconds=0.5))
    body = ws.clone_body("train-pipeline", epochs="5")
    with pytest.raises(requests.ReadTimeout):
        ws.put("run-42", body, timeout=0.2)
    assert ws.status("run-42") == "NotStarted"
    assert ws.put("run-42", body).status_code == 200
    assert ws.stats()["remoteJobsCreated"] == 1


def test_a_put_can_answer_504_gateway_timeout_after_creating_the_job(ws, azure_ml):
    azure_ml.faults.script(Fault(FaultKind.APPLY_THEN_TIMEOUT, "Jobs_CreateOrUpdate", seconds=0, status=504))
    response = ws.put("run-43", ws.clone_body("train-pipeline"))
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "GatewayTimeout"
    assert ws.get("run-43").status_code == 200


def test_faults_scripted_over_http_drive_another_process_the_same_way(ws):
    script = {"faults": [{"kind": "throttle", "operation": "Jobs_Cancel", "retryAfter": 10}]}
    assert ws.sim("POST", "faults", json=script).status_code == 200
    ws.clone("train-pipeline", "c1")
    throttled = ws.cancel("c1")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "10")
    assert throttled.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
    assert ws.status("c1") == "NotStarted"  # a throttled cancel did nothing
    assert ws.cancel("c1").status_code == 202


def test_rate_faults_over_http_replay_after_reset(ws):
    ws.sim("POST", "faults", json={"rate": 0.4, "seed": 11})

    def sample() -> list[int]:
        statuses = []
        for _ in range(15):
            try:
                statuses.append(ws.get("train-pipeline").status_code)
            except requests.ConnectionError:
                statuses.append(0)  # dropped
        return statuses

    first = sample()
    assert set(first) - {200}
    ws.sim("POST", "reset")
    assert sample() == first


def test_arm_quota_throttles_reads_until_tokens_refill(make_workspace, clock):
    ws = make_workspace(arm_limits=True, read_limit=(3, 1.0))
    statuses = [ws.get("train-pipeline") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert [r.headers.get("x-ms-ratelimit-remaining-subscription-reads") for r in statuses] == [
        "2",
        "1",
        "0",
        "0",
    ]
    assert statuses[-1].headers["Retry-After"] == "1"
    assert ws.details("train-pipeline").status_code == 200  # RunHistory is not ARM: no ARM quota
    clock.advance(1)
    assert ws.get("train-pipeline").status_code == 200


@pytest.mark.parametrize("kind", [FaultKind.GATEWAY_200, FaultKind.CUT_BODY, FaultKind.RESET,
                                  FaultKind.NON_JSON_200])
def test_a_spoiled_answer_comes_after_the_put_created_the_job(ws, azure_ml, kind):
    azure_ml.faults.script(Fault(kind, "Jobs_CreateOrUpdate"))
    try:
        response = ws.put("run-44", ws.clone_body("train-pipeline"))
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()
    except requests.RequestException:
        assert kind in (FaultKind.CUT_BODY, FaultKind.RESET)
    else:
        assert kind in (FaultKind.GATEWAY_200, FaultKind.NON_JSON_200)
    assert ws.get("run-44").status_code == 200 and ws.stats()["remoteJobsCreated"] == 1


def test_gateway_pages_stray_refusals_and_absurd_retry_afters_run_nothing(ws, azure_ml):
    azure_ml.faults.script(Fault(FaultKind.GATEWAY_502), Fault(FaultKind.STRAY_403), Fault(FaultKind.STRAY_404),
                           *[Fault(FaultKind.ABSURD_RETRY_AFTER)] * 3)
    page = ws.get("train-pipeline")
    assert page.status_code == 502 and page.headers["Content-Type"] == "text/html" and b"<html>" in page.content
    assert [ws.get("train-pipeline").status_code for _ in range(2)] == [403, 404]
    hints = [ws.get("train-pipeline").headers["Retry-After"] for _ in range(3)]
    assert hints == ["99999999999", "1e13", "Fri, 31 Dec 9999 23:59:59 GMT"]
    assert ws.get("train-pipeline").status_code == 200
