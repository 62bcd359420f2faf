"""A connection whose credential or key the platform refuses is a 502 AuthenticationFailed at start, with the
connection test's hint, for runs, dry runs, discovery and chains (issue 18 item 3); nothing starts, no
traceback is logged and no secret shows."""

from __future__ import annotations

import logging

import pytest
import requests
from azure.identity import CredentialUnavailableError

from platforms import registry
from platforms.auth import LocalDevCredential

from .conftest import train_request

SECRET = "s3cr3t-client-value"


def _agent_request(run_id: str) -> dict:
    return {"jobType": "foundry_agent", "connection": "foundry-sim", "job": "asst_echo00000000000000000000",
            "runId": run_id, "parameters": [{"name": "user_message", "value": "hi", "direction": "Input"}]}


REQUESTS = {"azureml-sim": train_request, "foundry-sim": _agent_request}


@pytest.fixture
def no_identity(monkeypatch):
    """DefaultAzureCredential finding nothing: every credential raises, its text naming what it tried."""
    def fail(self, *scopes, **kwargs):
        raise CredentialUnavailableError(f"DefaultAzureCredential failed to retrieve a token. client_secret={SECRET}")

    monkeypatch.setattr(LocalDevCredential, "get_token", fail)
    registry.reset()


def _refusal(response: requests.Response, connection: str, hint: str, field: str = "connection") -> None:
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "AuthenticationFailed" and error["connection"] == connection
    assert error["field"] == field and connection in error["message"]
    assert error["hint"] == hint
    assert SECRET not in response.text


def _quiet(caplog) -> None:
    for record in caplog.records:
        assert record.exc_info is None and "Traceback" not in record.getMessage(), record.getMessage()
        assert SECRET not in record.getMessage()


@pytest.mark.parametrize("connection", ["azureml-sim", "foundry-sim"])
def test_a_credential_that_gets_no_token_is_a_502_with_the_connection_tests_hint(stack, no_identity, caplog,
                                                                                 connection):
    caplog.set_level(logging.INFO)
    probe = requests.post(f"{stack.api}/connections/{connection}/test", timeout=30).json()
    assert probe["ok"] is False and "clientId" in probe["hint"]
    body = REQUESTS[connection]("auth-1")
    _refusal(stack.post_run(body), connection, probe["hint"])
    _refusal(requests.post(f"{stack.api}/runs", params={"dryRun": "true"}, json=body, timeout=30), connection,
             probe["hint"])
    _refusal(requests.get(f"{stack.api}/connections/{connection}/jobs", timeout=30), connection, probe["hint"])
    step = {k: v for k, v in body.items() if k != "runId"} | {"name": "only"}
    chain = requests.post(f"{stack.api}/chains", json={"chainId": "auth-c", "steps": [step]}, timeout=30)
    _refusal(chain, connection, probe["hint"], "steps[0].connection")
    assert stack.host.store.query(limit=10) == []
    _quiet(caplog)


def test_a_wrong_abacus_key_is_a_502_at_start_not_a_run_that_fails(stack, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("CONNECTIONS__abacus-bad__type", "abacus")
    monkeypatch.setenv("CONNECTIONS__abacus-bad__endpoint", stack.sim("abacus"))
    monkeypatch.setenv("CONNECTIONS__abacus-bad__apiKey", "wrong-secret-key-123")
    probe = requests.post(f"{stack.api}/connections/abacus-bad/test", timeout=30).json()
    body = {"jobType": "abacus_pipeline", "connection": "abacus-bad", "job": "simtrain01", "runId": "abacus-auth-1",
            "parameters": [{"name": "epochs", "value": "3", "direction": "Input"}]}
    response = stack.post_run(body)
    _refusal(response, "abacus-bad", probe["hint"])
    assert "CONNECTIONS__abacus-bad__apiKey" in response.json()["error"]["hint"]
    assert "wrong-secret-key-123" not in response.text
    assert stack.host.store.query(limit=10) == []
    assert stack.sim_stats("abacus")["remoteJobsCreated"] == 0
    _quiet(caplog)
