"""The shared framework on a toy platform: routing, auth, faults on the wire, stats, reset, /_sim routes."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from devkit.clock import RealClock
from simulators.faults import Fault, FaultInjector, FaultKind
from simulators.server import SimServer


def test_route_params_query_headers_and_plain_tuple_results(toy, http):
    echoed = http.get(f"{toy.url}/echo/a%20b/c", params={"x": "1", "y": ""}, headers={"X-Test": "hi"})
    assert echoed.status_code == 200
    assert echoed.json() == {"params": {"a": "a b", "b": "c"}, "query": {"x": "1", "y": ""}, "xTest": "hi"}

    created = http.post(f"{toy.url}/items", json={"id": "i1", "value": 2})
    assert created.status_code == 201
    assert created.json() == {"id": "i1", "value": 2}
    assert created.headers["Location"] == f"{toy.url}/items/i1"  # base_url is the address the client used


def test_unknown_path_is_404_and_wrong_method_405_in_the_platform_shape(toy, http):
    missing = http.get(f"{toy.url}/nowhere")
    assert missing.status_code == 404
    assert missing.json()["toyError"]["status"] == 404
    wrong = http.delete(f"{toy.url}/items/seeded")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET"
    assert wrong.json()["toyError"]["status"] == 405
    assert toy.stats()["requestsByOperation"] == {"(unmatched)": 2}


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer ", "bearer"])
def test_bearer_token_is_required_in_the_platform_error_shape(toy, header):
    headers = {} if header is None else {"Authorization": header}
    response = requests.get(f"{toy.url}/items/seeded", headers=headers)
    assert response.status_code == 401
    assert response.json()["toyError"]["status"] == 401
    assert response.headers["x-toy"] == "error"


def test_any_non_empty_bearer_token_is_accepted_and_public_routes_need_none(toy):
    assert requests.get(f"{toy.url}/items/seeded", headers={"Authorization": "Bearer x"}).status_code == 200
    assert requests.get(f"{toy.url}/public").json() == {"public": True}


def test_bad_json_and_handler_crashes_answer_in_the_platform_shape(toy, http):
    bad = http.post(f"{toy.url}/items", data=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert "not valid JSON" in bad.json()["toyError"]["message"]
    crash = http.get(f"{toy.url}/boom")
    assert crash.status_code == 500
    assert "kaboom" in crash.json()["toyError"]["message"]


def test_scripted_faults_hit_matching_operations_in_order(toy, http):
    toy.faults.script(
        Fault(FaultKind.THROTTLE, "Items_Get", times=2, retry_after=7),
        Fault(FaultKind.SERVER_ERROR),  # any operation
    )
    other = http.get(f"{toy.url}/echo/a/b")  # not Items_Get: skips the throttle, takes the 500
    assert other.status_code == 500
    assert other.json()["toyError"]["status"] == 500
    statuses = [http.get(f"{toy.url}/items/seeded") for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "7"
    assert statuses[0].json()["toyError"]["status"] == 429
    stats = toy.stats()
    assert stats["faultsInjected"] == 3
    assert stats["faultsByKind"] == {"throttle": 2, "server_error": 1}
    assert stats["faultsByOperation"] == {"Items_Get": 2, "Echo": 1}
    assert stats["faultsPending"] == 0


def test_unavailable_carries_retry_after_only_when_given(toy, http):
    toy.faults.script(Fault(FaultKind.UNAVAILABLE), Fault(FaultKind.UNAVAILABLE, retry_after=3))
    first, second = (http.get(f"{toy.url}/items/seeded") for _ in range(2))
    assert (first.status_code, second.status_code) == (503, 503)
    assert "Retry-After" not in first.headers
    assert second.headers["Retry-After"] == "3"


def test_throttle_without_retry_after_still_sends_one(toy, http):
    toy.faults.script(Fault(FaultKind.THROTTLE))
    assert http.get(f"{toy.url}/items/seeded").headers["Retry-After"] == "1"


def test_drop_closes_the_connection_without_running_the_operation(toy, http):
    toy.faults.script(Fault(FaultKind.DROP, "Items_Create"))
    with pytest.raises(requests.ConnectionError):
        http.post(f"{toy.url}/items", json={"id": "dropped"})
    assert http.get(f"{toy.url}/items/dropped").status_code == 404
    assert toy.stats()["remoteJobsCreated"] == 0


def test_slow_waits_for_real_then_answers(toy, http):
    toy.faults.script(Fault(FaultKind.SLOW, seconds=0.3), Fault(FaultKind.SLOW, seconds=0.3))
    started = time.monotonic()
    assert http.get(f"{toy.url}/items/seeded").status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.ReadTimeout):
        http.get(f"{toy.url}/items/seeded", timeout=0.1)


def test_apply_then_timeout_runs_the_operation_then_hangs_and_drops(toy, http):
    toy.faults.script(Fault(FaultKind.APPLY_THEN_TIMEOUT, "Items_Create", seconds=0.5))
    with pytest.raises(requests.ReadTimeout):
        http.post(f"{toy.url}/items", json={"id": "ghost"}, timeout=0.2)
    assert http.get(f"{toy.url}/items/ghost").status_code == 200  # created although the client saw a timeout
    assert toy.stats()["remoteJobsCreated"] == 1


def test_apply_then_timeout_can_answer_a_gateway_status_after_the_hang(toy, http):
    toy.faults.script(Fault(FaultKind.APPLY_THEN_TIMEOUT, "Items_Create", seconds=0.05, status=504))
    response = http.post(f"{toy.url}/items", json={"id": "gw"})
    assert response.status_code == 504
    assert response.json()["toyError"]["status"] == 504
    assert http.get(f"{toy.url}/items/gw").status_code == 200


def _statuses(server: SimServer, http: requests.Session, count: int) -> list[int]:
    return [http.get(f"{server.url}/items/seeded").status_code for _ in range(count)]


def test_rate_faults_are_reproducible_from_the_seed_and_reset(make_toy, clock, http):
    server = make_toy(clock, FaultInjector(rate=0.5, seed=7, kinds=["throttle", "server_error"]))
    first = _statuses(server, http, 20)
    assert set(first) == {200, 429, 500}
    assert server.stats()["faultsInjected"] == first.count(429) + first.count(500)
    assert http.post(f"{server.url}/_sim/reset").status_code == 200
    assert _statuses(server, http, 20) == first


def test_faults_can_be_scripted_and_cleared_over_http(toy, http):
    body = {"faults": [{"kind": "429", "operation": "Items_Get", "retryAfter": 2, "times": 2}], "seed": 3}
    added = http.post(f"{toy.url}/_sim/faults", json=body)
    assert added.status_code == 200
    assert added.json()["pending"] == [
        {
            "kind": "throttle",
            "operation": "Items_Get",
            "times": 2,
            "retryAfter": 2,
            "seconds": 1.0,
            "status": None,
            "skip": 0,
        }
    ]
    assert added.json()["seed"] == 3
    assert http.get(f"{toy.url}/items/seeded").headers["Retry-After"] == "2"
    assert http.get(f"{toy.url}/_sim/faults").json()["pending"][0]["times"] == 1
    assert http.delete(f"{toy.url}/_sim/faults").json()["pending"] == []
    assert http.get(f"{toy.url}/items/seeded").status_code == 200


@pytest.mark.parametrize(
    "body", [{"kind": "meteor"}, {"kind": "drop", "color": "red"}, {"kind": "drop", "times": 0}, [{"x": 1}]]
)
def test_malformed_faults_are_refused_and_change_nothing(toy, http, body):
    response = http.post(f"{toy.url}/_sim/faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "SimulatorError"
    assert http.get(f"{toy.url}/_sim/faults").json()["pending"] == []


def test_stats_count_requests_by_operation_and_reset_restores_the_seed(toy, http):
    http.post(f"{toy.url}/items", json={"id": "new"})
    http.get(f"{toy.url}/items/new")
    http.get(f"{toy.url}/items/new")
    toy.faults.script(Fault(FaultKind.DROP))
    stats = http.get(f"{toy.url}/_sim/stats").json()
    assert stats["platform"] == "toy"
    assert stats["requestsByOperation"] == {"Items_Create": 1, "Items_Get": 2}
    assert stats["remoteJobsCreated"] == 1
    assert stats["runningNow"] == 2
    assert stats["faultsPending"] == 1
    reset = http.post(f"{toy.url}/_sim/reset").json()
    assert reset["requestsByOperation"] == {}
    assert (reset["remoteJobsCreated"], reset["runningNow"], reset["faultsPending"]) == (0, 1, 0)
    assert http.get(f"{toy.url}/items/new").status_code == 404


def test_virtual_clock_moves_over_http_and_a_real_one_refuses(make_toy, toy, http, clock):
    before = clock.now()
    moved = http.post(f"{toy.url}/_sim/clock", json={"seconds": 90})
    assert moved.status_code == 200
    assert (clock.now() - before).total_seconds() == 90
    assert moved.json() == {"now": clock.now().isoformat(), "virtual": True}
    assert http.post(f"{toy.url}/_sim/clock", json={"seconds": -1}).status_code == 400
    real = make_toy(RealClock())
    assert http.post(f"{real.url}/_sim/clock", json={"seconds": 1}).status_code == 409
    assert http.get(f"{real.url}/_sim/clock").json()["virtual"] is False


def test_stop_ends_delayed_requests_and_idle_keep_alive_connections(make_toy, clock, http):
    server = make_toy(clock)
    assert http.get(f"{server.url}/items/seeded").status_code == 200  # leaves a pooled keep-alive socket
    server.faults.script(Fault(FaultKind.SLOW, seconds=30))
    outcome: list[object] = []

    def slow_call() -> None:
        try:
            outcome.append(requests.get(f"{server.url}/public", timeout=10).status_code)
        except requests.RequestException as exc:
            outcome.append(type(exc))

    caller = threading.Thread(target=slow_call)
    caller.start()
    deadline = time.monotonic() + 5
    while server.stats()["faultsInjected"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # wait for the request to reach its delay (synchronisation, not a lifecycle)
    started = time.monotonic()
    server.stop()
    caller.join(5)
    assert time.monotonic() - started < 2
    assert outcome == [requests.ConnectionError]


def test_request_log_keeps_operation_time_status_and_retry_after_and_reset_clears_it(toy, http, clock):
    toy.faults.script(Fault(FaultKind.THROTTLE, "Items_Get", retry_after=7), Fault(FaultKind.DROP, "Items_Get"))
    assert http.get(f"{toy.url}/items/seeded").status_code == 429
    with pytest.raises(requests.ConnectionError):
        http.get(f"{toy.url}/items/seeded")
    assert http.get(f"{toy.url}/items/seeded").status_code == 200
    http.get(f"{toy.url}/nowhere")
    log = http.get(f"{toy.url}/_sim/requests").json()["requests"]
    assert [(e["operation"], e["status"], e["retryAfter"]) for e in log] == [
        ("Items_Get", 429, "7"), ("Items_Get", None, None), ("Items_Get", 200, None), ("(unmatched)", 404, None)]
    assert {e["at"] for e in log} == {clock.now().isoformat()} and log[0]["path"] == "/items/seeded"
    assert log[0]["method"] == "GET" and log[0]["query"] == {}
    http.post(f"{toy.url}/_sim/reset")
    assert toy.request_log() == []
