"""The HTTP front door's guards: the key on every durable and admin route, the Host header, JSON-only
bodies where JSON is taken, and a listening socket that queues bursts instead of resetting them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devhost.http_server import allowed_host_names

from .conftest import FUNCTION_KEY

KEYLESS = [
    ("POST", "/durabletask/orchestrators/chain/forged", {"json": {"n": 1}}),
    ("GET", "/durabletask/instances/", {}),
    ("GET", "/durabletask/instances/some-id", {}),
    ("POST", "/durabletask/instances/some-id/terminate", {}),
    ("DELETE", "/durabletask/instances/some-id", {}),
    ("GET", "/durabletask/entities/counter/k", {}),
    ("POST", "/runtime/webhooks/durabletask/orchestrators/chain/forged", {"json": {"n": 1}}),
    ("GET", "/runtime/webhooks/durabletask/instances/", {}),
    ("GET", "/admin/host/status", {}),
    ("POST", "/admin/functions/chain", {"json": {"input": ""}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), KEYLESS)
def test_every_durable_and_admin_route_wants_the_key(served, method, path, kwargs):
    url = served.base_url + path
    assert requests.request(method, url, timeout=10, **kwargs).status_code == 401
    wrong = requests.request(method, url, timeout=10, headers={"x-functions-key": "nope"}, **kwargs)
    assert wrong.status_code == 401
    assert "statusQueryGetUri" not in wrong.text and FUNCTION_KEY not in wrong.text
    assert served.host.get("forged") is None


def test_the_key_is_taken_as_code_header_or_basic_auth(served):
    base = served.base_url + "/durabletask/instances/"
    assert requests.get(base, params={"code": FUNCTION_KEY}, timeout=10).status_code == 200
    assert requests.get(base, headers={"x-functions-key": FUNCTION_KEY}, timeout=10).status_code == 200
    assert requests.get(base, auth=("devhost", FUNCTION_KEY), timeout=10).status_code == 200
    assert requests.get(base, auth=("devhost", "wrong"), timeout=10).status_code == 401


def test_the_sdk_client_reaches_the_keyed_rpc_endpoint(served):
    instance_id = served.start("chain", {"n": 3})
    assert served.wait(instance_id).output == {"echo": 12}
    status = served.run(served.client().get_status(instance_id))
    assert status.runtime_status.value == "Completed"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:7071", "127.0.0.1.nip.io", ""])
def test_a_foreign_host_header_is_refused_on_every_route(served, host):
    for path in ("/api/hello/ada", "/durabletask/instances/", "/runtime/webhooks/durabletask/instances/"):
        response = requests.get(served.base_url + path, headers={"Host": host, "x-functions-key": FUNCTION_KEY},
                                timeout=10)
        assert response.status_code == 400, (path, host)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:7071", "127.0.0.1", "[::1]:80"])
def test_loopback_host_names_are_served(served, host):
    response = requests.get(served.base_url + "/api/hello/ada", headers={"Host": host}, timeout=10)
    assert response.status_code == 200


def test_host_names_follow_the_bind_address_and_extra_names():
    assert "devbox.lan" in allowed_host_names("devbox.lan")
    assert allowed_host_names("0.0.0.0") == allowed_host_names("127.0.0.1")
    assert "build-agent" in allowed_host_names("0.0.0.0", ("Build-Agent",))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_json_route_refuses_a_body_that_is_not_json_with_415(served, content_type):
    headers = {"x-functions-key": FUNCTION_KEY}
    if content_type:
        headers["Content-Type"] = content_type
    start = requests.post(served.base_url + "/durabletask/orchestrators/chain/by-form", data="n=1",
                          headers=headers, timeout=10)
    assert start.status_code == 415
    assert served.host.get("by-form") is None
    live = served.start("late_waiter", None, "waiting")
    raised = requests.post(served.base_url + f"/runtime/webhooks/durabletask/instances/{live}/raiseEvent/go",
                           data="go", headers=headers, timeout=10)
    assert raised.status_code == 415


def test_a_json_body_and_an_empty_body_are_still_taken(served):
    headers = {"x-functions-key": FUNCTION_KEY}
    ok = requests.post(served.base_url + "/durabletask/orchestrators/chain/json-ok", json={"n": 1},
                       headers=headers, timeout=10)
    assert ok.status_code == 202
    served.wait("json-ok")
    empty = requests.post(served.base_url + "/durabletask/orchestrators/chain/json-ok/terminate",
                          headers=headers, timeout=10)
    assert empty.status_code == 404  # no such route; the empty body itself was not refused


def test_a_burst_of_300_parallel_starts_is_queued_not_reset(served):
    served.host.hold()  # only the front door is measured

    def start(i: int) -> int:
        try:
            return requests.post(f"{served.base_url}/durabletask/orchestrators/chain/burst-{i}", json={"n": i},
                                 headers={"x-functions-key": FUNCTION_KEY}, timeout=30).status_code
        except requests.ConnectionError:
            return -1

    with ThreadPoolExecutor(max_workers=300) as pool:
        codes = list(pool.map(start, range(300)))
    assert codes.count(202) == 300, {c: codes.count(c) for c in set(codes)}
