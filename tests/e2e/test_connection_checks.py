"""Checks a scheduler's user makes before a run: a connection test (auth and reachability, with the
platform's reason and a hint naming what to fix) and a dry run (the exact remote request a start would
send, secrets removed, nothing sent and nothing started)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from platforms import registry
from platforms.auth import AccessToken, LocalDevCredential
from platforms.http import HttpClient
from simulators.abacus import SIM_API_KEY as ABACUS_SIM_KEY

from .conftest import train_request

LOCAL_TOKEN = "devhost-local-token"
SUBMITS = {"Jobs_CreateOrUpdate", "createThreadAndRun", "createRun", "runPipeline"}


def _test(stack, connection: str) -> requests.Response:
    return requests.post(f"{stack.api}/connections/{connection}/test", timeout=30)


@pytest.mark.parametrize(("connection", "kind"), [("azureml-sim", "azure_ml"), ("foundry-sim", "foundry_agents"),
                                                  ("abacus-sim", "abacus")])
def test_each_simulator_connection_tests_ok(stack, connection, kind):
    response = _test(stack, connection)
    assert response.status_code == 200
    body = response.json()
    assert body == {"ok": True, "connection": connection, "type": kind, "latencyMs": body["latencyMs"]}
    assert isinstance(body["latencyMs"], int) and body["latencyMs"] >= 0
    assert stack.sim_stats(kind)["remoteJobsCreated"] == 0


def test_a_wrong_abacus_key_names_the_key_setting_and_never_shows_it(stack, monkeypatch):
    monkeypatch.setenv("CONNECTIONS__abacus-bad__type", "abacus")
    monkeypatch.setenv("CONNECTIONS__abacus-bad__endpoint", stack.sim("abacus"))
    monkeypatch.setenv("CONNECTIONS__abacus-bad__apiKey", "wrong-secret-key-123")
    response = _test(stack, "abacus-bad")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and body["type"] == "abacus"
    assert "API key" in body["message"] or "key" in body["message"].casefold()
    assert "CONNECTIONS__abacus-bad__apiKey" in body["hint"] and "wrong" in body["hint"]
    assert "wrong-secret-key-123" not in response.text


@pytest.mark.parametrize(("connection", "role"), [("azureml-sim", "AzureML Data Scientist"),
                                                  ("foundry-sim", "Azure AI User")])
def test_an_identity_without_the_role_gets_a_hint_naming_it(stack, monkeypatch, connection, role):
    # The simulators answer 403 (Azure ML) / 401 PermissionDenied (Foundry) to the token `sim-forbidden`:
    # the local credential hands that token out here, as an identity without the role would be.
    monkeypatch.setattr(LocalDevCredential, "get_token",
                        lambda self, *scopes, **kw: AccessToken("sim-forbidden", int(time.time()) + 3600))
    registry.reset()
    body = _test(stack, connection).json()
    assert body["ok"] is False, body
    assert role in body["hint"]
    assert body["message"]


def test_an_unknown_connection_is_404(stack):
    response = _test(stack, "nope")
    assert response.status_code == 404 and response.json()["error"]["field"] == "connection"


# ---- dry runs ------------------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch) -> list[dict[str, Any]]:
    """The submit calls really sent to a platform, as they went on the wire (method, URL, JSON body)."""
    calls: list[dict[str, Any]] = []
    original = HttpClient.request

    def recording(self, method, path, *, operation, **kwargs):
        response = original(self, method, path, operation=operation, **kwargs)
        if operation in SUBMITS:
            wire = response.request
            calls.append({"method": wire.method, "url": wire.url, "body": json.loads(wire.body)})
        return response

    monkeypatch.setattr(HttpClient, "request", recording)
    return calls


def _agent_request(run_id: str) -> dict[str, Any]:
    return {"jobType": "foundry_agent", "connection": "foundry-sim", "job": "asst_echo00000000000000000000",
            "runId": run_id, "parameters": [{"name": "user_message", "value": "hello", "direction": "Input"},
                                            {"name": "thread_id", "direction": "InputOutput"},
                                            {"name": "response", "direction": "Output"}]}


def _abacus_request(run_id: str) -> dict[str, Any]:
    return {"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simtrain01", "runId": run_id,
            "parameters": [{"name": "learning_rate", "value": "0.5", "direction": "Input"},
                           {"name": "epochs", "value": 4, "direction": "Input"},
                           {"name": "model_id", "direction": "Output"}]}


CASES = [
    ("azure_ml", train_request, "PUT", "/jobs/runbridge-dry-1?api-version="),
    ("foundry_agents", _agent_request, "POST", "/threads/runs?api-version="),
    ("abacus", _abacus_request, "POST", "/api/v0/runPipeline"),
]


@pytest.mark.parametrize(("platform", "make", "method", "url_part"), CASES, ids=[c[0] for c in CASES])
def test_a_dry_run_shows_exactly_what_the_submit_sends_and_sends_nothing(stack, sent, platform, make, method,
                                                                         url_part):
    request = make("dry-1")
    response = requests.post(f"{stack.api}/runs", params={"dryRun": "true"}, json=request, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dryRun"] is True and body["request"]["runId"] == "dry-1"
    assert body["request"]["job"] == request["job"] and body["request"]["timeout"]
    remote = body["remote"]
    assert set(remote) == {"method", "url", "body"} and remote["method"] == method and url_part in remote["url"]
    for secret in (LOCAL_TOKEN, ABACUS_SIM_KEY, "Authorization", "x-azureml-token", "apiKey"):
        assert secret not in response.text
    stack.host.wait_idle()
    assert stack.host.get("dry-1") is None
    assert sent == [] and stack.sim_stats(platform)["remoteJobsCreated"] == 0

    assert stack.post_run(request).status_code == 202
    stack.wait_run("dry-1")
    assert sent == [remote]


def test_a_dry_run_without_run_id_shows_the_one_it_chose(stack):
    request = train_request("x")
    del request["runId"]
    body = requests.post(f"{stack.api}/runs?dryRun=true", json=request, timeout=30).json()
    run_id = body["request"]["runId"]
    assert body["remote"]["url"].split("?")[0].endswith(f"/jobs/runbridge-{run_id}")
    assert body["remote"]["body"]["properties"]["tags"]["runbridge.runId"] == run_id


@pytest.mark.parametrize(("make", "change"), [
    (train_request, {"job": "no-such-template"}),
    (train_request, {"parameters": [{"name": "not_an_input", "value": "1", "direction": "Input"}]}),
    (train_request, {"timeout": "six hours"}),
    (_agent_request, {"job": "asst_missing000000000000000000"}),
    (_agent_request, {"parameters": [{"name": "user_message", "value": " ", "direction": "Input"}]}),
    (_abacus_request, {"parameters": [{"name": "epochs", "value": "many", "direction": "Input"}]}),
    (_abacus_request, {"connection": "nope"}),
], ids=["aml-job", "aml-input", "timeout", "agent", "message", "abacus-type", "connection"])
def test_an_invalid_dry_run_is_the_same_400_as_a_real_start(stack, make, change):
    request = {**make("bad-1"), **change}
    dry = requests.post(f"{stack.api}/runs", params={"dryRun": "true"}, json=request, timeout=30)
    real = stack.post_run(request)
    assert dry.status_code == real.status_code == 400, (dry.text, real.text)
    assert dry.json() == real.json()
    stack.host.wait_idle()
    assert stack.host.get("bad-1") is None
