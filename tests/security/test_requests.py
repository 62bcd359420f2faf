"""A run request names a configured connection; it can never carry an endpoint or a credential, pick a
connection that is not configured, break a URL or a remote name with its run id, or grow without bound.

These are unit checks of core/run_request.py (what both starters, HTTP and queue, call). The HTTP answers
for a few of these cases are in tests/e2e/test_runs_api.py; this file covers every field and variant.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.chains import CHAIN_ID, STEP_NAME, parse_chain_request, step_run_id
from core.connections import CONNECTION_NAME
from core.errors import ValidationError
from core.run_request import (
    JOB,
    MAX_PARAMETERS,
    MAX_TOTAL_VALUE_BYTES,
    MAX_VALUE_BYTES,
    RUN_ID,
    RunRequest,
    parse_run_request,
)
from starters.responses import MAX_BODY_BYTES, PayloadTooLarge, read_json_body

KNOWN = {"ml-prod": "azure_ml", "agents": "foundry_agents", "abacus-prod": "abacus"}
JOB_TYPES = ("azureml_pipeline", "foundry_agent", "abacus_pipeline")
SECRET = "s3cr3t-VALUE-0123456789"

# Field names a caller might use to point a run elsewhere or hand over a credential.
CREDENTIAL_FIELDS = [
    "endpoint", "armEndpoint", "historyEndpoint", "baseUrl", "url", "uri", "host", "hostname", "server",
    "apiKey", "api_key", "api-key", "key", "accessKey", "token", "accessToken", "bearer", "authorization",
    "Authorization", "auth", "secret", "clientSecret", "password", "credential", "credentials",
    "connectionString", "sasToken", "x-functions-key", "subscriptionKey", "tenantId", "clientId",
    "workspace", "subscriptionId", "resourceGroup", "projectResourceId",
]


def _body(**overrides) -> dict:
    body = {"jobType": "azureml_pipeline", "connection": "ml-prod", "job": "train",
            "parameters": [{"name": "lr", "value": "0.1", "direction": "Input"}]}
    body.update(overrides)
    return body


def _refused(body, field_prefix: str | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_run_request(body, known_job_types=JOB_TYPES, known_connections=KNOWN)
    error = caught.value
    if field_prefix is not None:
        assert error.field.startswith(field_prefix), error
    text = json.dumps(error.to_dict())
    assert SECRET not in text, f"the error quotes the value back: {text}"
    return error


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
def test_no_top_level_field_can_carry_an_endpoint_or_credential(field):
    _refused(_body(**{field: SECRET}))


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
def test_no_parameter_field_can_carry_an_endpoint_or_credential(field):
    body = _body()
    body["parameters"][0][field] = SECRET
    _refused(body, "parameters[0]")


@pytest.mark.parametrize("field", ["endpoint", "apiKey", "token", "url"])
def test_credential_like_fields_are_named_as_such(field):
    error = _refused(_body(**{field: SECRET}))
    assert error.field == field and "never carries an endpoint or credential" in error.reason


@pytest.mark.parametrize("value", [
    "https://evil.example", "http://127.0.0.1:7101", "evil.example:443", "ml-prod/../x", "a/b", "..",
    "@ml-prod", "user@evil.example", "ml prod", "ml-prod?x=1", "ml-prod#x", "%2e%2e", "-ml", "x" * 65, "",
])
def test_the_connection_field_is_a_name_never_a_location(value):
    _refused(_body(connection=value), "connection")


def test_only_configured_connections_of_the_right_type_are_accepted():
    error = _refused(_body(connection="ml-staging"), "connection")
    assert "not a configured connection" in error.reason
    error = _refused(_body(connection="agents"), "connection")  # configured, but a foundry_agents one
    assert "needs a connection of type azure_ml" in error.reason
    request = parse_run_request(_body(connection="ML-PROD"), known_job_types=JOB_TYPES, known_connections=KNOWN)
    assert request.connection == "ml-prod"  # the configured spelling, whatever the caller typed


def test_a_stored_request_read_back_by_an_orchestrator_is_checked_again():
    """Orchestrator inputs are re-parsed (RunRequest.from_dict): a tampered stored request is refused too."""
    with pytest.raises(ValidationError):
        RunRequest.from_dict(_body(endpoint="https://evil.example"))


@pytest.mark.parametrize("value", [
    "https://evil.example/job", "../train", "a/b", "a\\b", "a?b", "a#b", "a b", "%2F", "-train", ":x", "x" * 257,
])
def test_the_job_field_cannot_carry_a_url_or_path(value):
    _refused(_body(job=value), "job")


@pytest.mark.parametrize("value", [
    "../etc/passwd", "a/b", "a\\b", "a#b", "a?b", "@lead", "a b", "a.b", "%2F", "_lead", "-lead", "é", "x" * 65,
    "a\nb", "a%2Fb", 7, True,
])
def test_run_ids_that_could_break_a_url_or_a_remote_name_are_refused(value):
    _refused(_body(runId=value), "runId")


@given(st.from_regex(RUN_ID, fullmatch=True))
def test_every_accepted_run_id_is_url_safe_and_a_valid_azure_ml_job_name(run_id):
    assert quote(run_id, safe="") == run_id
    # reference/azureml-jobs.md §1.3 job name pattern, and Durable's instance id rules (§4).
    assert JOB.fullmatch(run_id)
    assert len(run_id) <= 64 and not run_id.startswith("@")
    assert not set(run_id) & set("/\\#?")


@given(st.from_regex(CONNECTION_NAME, fullmatch=True))
def test_every_accepted_connection_name_is_url_safe(name):
    assert quote(name, safe="") == name


def test_parameter_count_and_value_sizes_are_bounded():
    many = [{"name": f"p{i}", "value": "1", "direction": "Input"} for i in range(MAX_PARAMETERS + 1)]
    _refused(_body(parameters=many), "parameters")
    _refused(_body(parameters=[{"name": "p", "value": "x" * (MAX_VALUE_BYTES + 1), "direction": "Input"}]),
             "parameters[0].value")
    per_value = MAX_VALUE_BYTES - 1
    count = MAX_TOTAL_VALUE_BYTES // per_value + 1
    assert count <= MAX_PARAMETERS
    big = [{"name": f"p{i}", "value": "x" * per_value, "direction": "Input"} for i in range(count)]
    _refused(_body(parameters=big), "parameters")


def test_the_http_body_is_capped_before_it_is_parsed():
    class Request:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def get_body(self) -> bytes:
            return self.body

    with pytest.raises(PayloadTooLarge):
        read_json_body(Request(b" " * (MAX_BODY_BYTES + 1)))
    assert read_json_body(Request(b'{"a": 1}')) == {"a": 1}


@pytest.mark.parametrize("where", ["job", "connection", "runId", "timeout", "parameters[0].name",
                                   "parameters[0].direction"])
def test_errors_never_quote_the_callers_value(where):
    body = _body()
    if where.startswith("parameters[0]."):
        body["parameters"][0][where.split(".", 1)[1]] = SECRET + "/?#"
    else:
        body[where] = SECRET + "/?#"
    _refused(body, where)


# ---- chains: the same rules for every step -------------------------------------------------------------


def _chain(**step_overrides) -> dict:
    return {"chainId": "c1", "steps": [{"name": "train", **_body(**step_overrides)}]}


def _chain_refused(body) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_chain_request(body, known_job_types=JOB_TYPES, known_connections=KNOWN)
    assert SECRET not in json.dumps(caught.value.to_dict())
    return caught.value


@pytest.mark.parametrize("field", ["endpoint", "apiKey", "token", "url", "credential"])
def test_a_chain_carries_no_endpoint_or_credential_at_any_level(field):
    _chain_refused({**_chain(), field: SECRET})
    assert _chain_refused(_chain(**{field: SECRET})).field.startswith("steps[0]")
    body = _chain()
    body["steps"][0]["parameters"][0][field] = SECRET
    assert _chain_refused(body).field.startswith("steps[0].parameters[0]")


def test_a_chain_step_names_a_configured_connection_and_cannot_pick_its_run_id():
    assert _chain_refused(_chain(connection="https://evil.example")).field == "steps[0].connection"
    assert _chain_refused(_chain(runId="x")).field == "steps[0].runId"


@given(st.from_regex(CHAIN_ID, fullmatch=True), st.from_regex(STEP_NAME, fullmatch=True))
def test_every_chain_step_run_id_is_a_valid_run_id(chain_id, step):
    assert RUN_ID.fullmatch(step_run_id(chain_id, step))
