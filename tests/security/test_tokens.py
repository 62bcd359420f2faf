"""Tokens are scoped per platform, cached in memory only, and never written anywhere: not in orchestration
inputs, outputs, custom status or history (the devhost store holds all four), not in API answers, not in
logs. tests/e2e/test_abacus_runs.py does the same for the Abacus API key.
"""

from __future__ import annotations

import glob
import logging
import time
from pathlib import Path

import pytest
import requests

from core.connections import Connection, ConnectionType
from platforms import auth

MARKER = "TOKENMARKER-5e4d3c2b1a09"


class _Recorder:
    """A credential that hands out `tok:<scope>` and records each request."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.scopes: list[str] = []
        self.lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs) -> auth.AccessToken:
        self.scopes.extend(scopes)
        return auth.AccessToken(f"tok:{scopes[0]}", int(time.time()) + self.lifetime)


def test_a_token_is_fetched_once_and_refreshed_only_near_its_expiry():
    credential = _Recorder(lifetime=3600)
    now = [time.time()]
    bearer = auth.BearerToken(credential, "https://management.azure.com/.default", clock=lambda: now[0])
    for _ in range(5):
        assert bearer.headers() == {"Authorization": "Bearer tok:https://management.azure.com/.default"}
    assert credential.scopes == ["https://management.azure.com/.default"]
    now[0] += 3600 - auth.REFRESH_MARGIN + 1
    bearer.headers()
    assert len(credential.scopes) == 2
    assert "tok:" not in repr(bearer)


@pytest.fixture
def recorder(monkeypatch) -> _Recorder:
    credential = _Recorder()
    monkeypatch.delenv(auth.LOCAL_CREDENTIAL_SETTING, raising=False)
    monkeypatch.setattr(auth, "_CREDENTIALS", {})
    monkeypatch.setattr(auth, "_azure_credential", lambda tenant, client: credential)
    return credential


def test_each_platform_asks_for_its_own_scope_and_sends_it_only_to_its_host(recorder):
    from platforms.azure_ml.client import create_client as azure_ml
    from platforms.foundry_agents.client import create_client as foundry

    ml = azure_ml(Connection("ml", ConnectionType.AZURE_ML, {
        "subscriptionId": "00000000-0000-0000-0000-000000000000", "resourceGroup": "rg", "workspace": "ws",
        "region": "eastus", "clientId": "11111111-1111-1111-1111-111111111111",
        "armEndpoint": "https://management.azure.com", "historyEndpoint": "https://eastus.api.azureml.ms"}))
    assert ml.arm.auth() == {"Authorization": "Bearer tok:https://management.azure.com/.default"}
    assert ml.history.auth() == {"Authorization": "Bearer tok:https://ml.azure.com/.default"}
    agents = foundry(Connection("agents", ConnectionType.FOUNDRY_AGENTS, {
        "endpoint": "https://acct.services.ai.azure.com/api/projects/p"}))
    assert agents.http.auth() == {"Authorization": "Bearer tok:https://ai.azure.com/.default"}


def test_abacus_sends_its_key_as_apikey_and_no_bearer_token(recorder):
    from platforms.abacus.client import create_client as abacus

    client = abacus(Connection("ab", ConnectionType.ABACUS, {"endpoint": "https://api.abacus.ai", "apiKey": MARKER}))
    assert client.http.auth() == {"apiKey": MARKER}
    assert recorder.scopes == []
    assert MARKER not in repr(client)


def test_a_user_assigned_identity_is_used_when_the_connection_names_one():
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    assert isinstance(auth._azure_credential(None, "11111111-1111-1111-1111-111111111111"), ManagedIdentityCredential)
    assert isinstance(auth._azure_credential(None, None), DefaultAzureCredential)


def _agent_request(run_id: str) -> dict:
    from simulators.foundry_agents import ECHO_AGENT

    return {"jobType": "foundry_agent", "connection": "foundry-sim", "job": ECHO_AGENT, "runId": run_id,
            "parameters": [{"name": "user_message", "value": "hi", "direction": "Input"},
                           {"name": "response", "direction": "Output"}]}


def _ml_request(run_id: str, job: str = "train-pipeline") -> dict:
    parameters = [{"name": "learning_rate", "value": "0.05", "direction": "Input"},
                  {"name": "model_uri", "direction": "Output"}] if job == "train-pipeline" else []
    return {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": job, "runId": run_id,
            "parameters": parameters}


def test_no_token_reaches_the_store_the_api_or_the_logs(stack, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    handed_out: list[str] = []

    def marked_token(self, *scopes: str, **kwargs) -> auth.AccessToken:
        handed_out.extend(scopes)
        return auth.AccessToken(MARKER, int(time.time()) + 3600)

    monkeypatch.setattr(auth.LocalDevCredential, "get_token", marked_token)
    bodies: list[str] = []

    def keep(response: requests.Response) -> requests.Response:
        bodies.append(response.text)
        return response

    for body in (_ml_request("tok-ml"), _ml_request("tok-ml-fail", job="failing-pipeline"),
                 _agent_request("tok-agent"), _ml_request("tok-ml-cancel", job="long-pipeline")):
        response = keep(stack.post_run(body))
        assert response.status_code == 202, response.text
    keep(requests.post(f"{stack.api}/runs/tok-ml-cancel/cancel", timeout=10))
    runs = {run_id: stack.wait_run(run_id) for run_id in ("tok-ml", "tok-ml-fail", "tok-agent", "tok-ml-cancel")}
    assert runs["tok-ml"]["status"] == "Success" and runs["tok-agent"]["status"] == "Success"
    assert runs["tok-ml-fail"]["status"] == "Failed" and runs["tok-ml-cancel"]["status"] == "Cancelled"
    for run_id in runs:
        keep(requests.get(f"{stack.api}/runs/{run_id}", timeout=10))
        keep(requests.get(f"{stack.api}/runs/{run_id}/history", timeout=10))
    keep(requests.get(f"{stack.api}/runs", timeout=10))
    keep(requests.get(f"{stack.api}/connections", timeout=10))
    for connection in ("azureml-sim", "foundry-sim"):
        assert keep(requests.get(f"{stack.api}/connections/{connection}/jobs", timeout=30)).status_code == 200
    stack.host.wait_idle()
    stored = b"".join(Path(path).read_bytes() for path in glob.glob(stack.host.db_path + "*"))
    assert b"tok-ml" in stored  # the store really holds the runs
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] >= 3  # the platforms really got calls...
    assert any("ml.azure.com" in scope for scope in handed_out)  # ...with the marker as their tokens
    assert any("ai.azure.com" in scope for scope in handed_out)
    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    for text in (MARKER, "Bearer "):
        assert text.encode() not in stored, f"{text!r} is in the devhost store"
        assert text not in logged, f"{text!r} was logged"
        assert not [body for body in bodies if text in body], f"{text!r} is in an API answer"
