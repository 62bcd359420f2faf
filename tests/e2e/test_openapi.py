"""starters/openapi.json is kept true: every route the app registers is in it with its methods (and nothing
else), and each route's answers, in its main success and error cases, validate against the document's
response schema for that status."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
import requests

from devhost.app_loader import load_app

from .conftest import ROOT, train_request

DOCUMENT = json.loads((ROOT / "starters" / "openapi.json").read_text())
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def to_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema: `nullable: true` becomes an allowed null."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


COMPONENTS = to_json_schema(DOCUMENT["components"])


def _operation(method: str, path: str) -> dict[str, Any]:
    operation = DOCUMENT["paths"].get(path, {}).get(method.lower())
    assert operation is not None, f"{method} {path} is not in starters/openapi.json"
    return operation


def check(response: requests.Response, method: str, path: str) -> Any:
    """Validate an answer against the document's schema for its route and status; the JSON body."""
    responses = _operation(method, path)["responses"]
    documented = responses.get(str(response.status_code))
    assert documented is not None, f"{method} {path} answered {response.status_code}, not documented: {response.text}"
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    schema = to_json_schema(documented["content"]["application/json"]["schema"])
    jsonschema.validate(body, {**schema, "components": COMPONENTS}, cls=jsonschema.Draft7Validator)
    return body


def test_the_document_is_a_valid_openapi_3_shape():
    assert DOCUMENT["openapi"].startswith("3.0")
    for name, schema in COMPONENTS["schemas"].items():
        jsonschema.Draft7Validator.check_schema({**schema, "title": name})
    for path, item in DOCUMENT["paths"].items():
        assert path.startswith("/api/"), path
        for method, operation in item.items():
            if method in METHODS:
                assert operation["responses"], (method, path)


def test_every_registered_route_is_documented_with_its_methods_and_nothing_else():
    served = {(f"/api/{route.template}", method.lower())
              for route in load_app(ROOT).routes for method in route.methods}
    documented = {(path, method) for path, item in DOCUMENT["paths"].items() for method in item if method in METHODS}
    assert served == documented


def test_the_document_is_served(stack):
    response = requests.get(f"{stack.api}/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == DOCUMENT


def _call(stack, method: str, path: str, template: str | None = None, **kwargs: Any) -> Any:
    response = requests.request(method, f"{stack.api}{path}", timeout=30, **kwargs)
    return response.status_code, check(response, method, f"/api{template or path}")


def test_run_routes_answer_as_documented(stack):
    body = train_request("oa-run")
    assert _call(stack, "POST", "/runs", json=body)[0] == 202
    assert _call(stack, "POST", "/runs", json=body)[0] == 200
    assert _call(stack, "POST", "/runs", json={**body, "job": "long-pipeline"})[0] == 409
    assert _call(stack, "POST", "/runs", json={**body, "jobType": "nope"})[0] == 400
    assert _call(stack, "POST", "/runs", json={**body, "runId": "oa-x", "job": "no-such-template"})[0] == 400
    assert _call(stack, "POST", "/runs", data=b"x" * (1024 * 1024 + 1))[0] == 413
    status, preview = _call(stack, "POST", "/runs?dryRun=true", "/runs", json=train_request("oa-dry"))
    assert status == 200 and preview["dryRun"] is True
    assert _call(stack, "POST", "/runs?dryRun=maybe", "/runs", json=body)[0] == 400
    stack.wait_run("oa-run")
    assert _call(stack, "GET", "/runs/oa-run", "/runs/{id}")[1]["status"] == "Success"
    assert _call(stack, "GET", "/runs/nope", "/runs/{id}")[0] == 404
    assert _call(stack, "GET", "/runs/oa-run/history", "/runs/{id}/history")[0] == 200
    assert _call(stack, "GET", "/runs/nope/history", "/runs/{id}/history")[0] == 404
    assert _call(stack, "POST", "/runs/oa-run/cancel", "/runs/{id}/cancel")[0] == 409
    assert _call(stack, "POST", "/runs/nope/cancel", "/runs/{id}/cancel")[0] == 404
    assert _call(stack, "GET", "/runs", params={"pageSize": 10})[0] == 200
    assert _call(stack, "GET", "/runs", params={"pageSize": 0})[0] == 400


def test_a_live_run_and_its_cancel_answer_as_documented(stack):
    stack.pause_at(timedelta(minutes=8))
    assert _call(stack, "POST", "/runs", json=train_request("oa-live"))[0] == 202
    stack.host.wait_idle()
    status, run = _call(stack, "GET", "/runs/oa-live", "/runs/{id}")
    assert status == 200 and run["status"] == "Running"
    assert _call(stack, "POST", "/runs/oa-live/cancel", "/runs/{id}/cancel")[0] == 202
    stack.resume()
    assert stack.wait_run("oa-live")["status"] == "Cancelled"
    assert _call(stack, "GET", "/runs/oa-live", "/runs/{id}")[1]["error"]["code"] == "Cancelled"


def _chain(chain_id: str, job: str = "train-pipeline") -> dict[str, Any]:
    first = {"name": "first", "jobType": "azureml_pipeline", "connection": "azureml-sim", "job": job,
             "parameters": [{"name": "model_uri", "direction": "Output"}]}
    second = {"name": "second", "jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline",
              "parameters": [{"name": "learning_rate", "direction": "Input",
                              "value": {"from": "first", "output": "model_uri"}}]}
    return {"chainId": chain_id, "steps": [first, second]}


def test_chain_routes_answer_as_documented(stack):
    stack.pause_at(timedelta(minutes=8))
    assert _call(stack, "POST", "/chains", json=_chain("oa-chain"))[0] == 202
    assert _call(stack, "POST", "/chains", json=_chain("oa-chain"))[0] == 200
    assert _call(stack, "POST", "/chains", json=_chain("oa-chain", "long-pipeline"))[0] == 409
    bad = _chain("oa-bad")
    bad["steps"][1]["parameters"][0]["value"]["from"] = "nowhere"
    assert _call(stack, "POST", "/chains", json=bad)[0] == 400
    stack.host.wait_idle()
    status, chain = _call(stack, "GET", "/chains/oa-chain", "/chains/{id}")
    assert status == 200 and chain["status"] == "Running"
    assert _call(stack, "GET", "/chains/nope", "/chains/{id}")[0] == 404
    assert _call(stack, "POST", "/chains/oa-chain/cancel", "/chains/{id}/cancel")[0] == 202
    assert _call(stack, "POST", "/chains/nope/cancel", "/chains/{id}/cancel")[0] == 404
    stack.resume()
    stack.wait_run("oa-chain-first")
    stack.host.wait_idle()
    _, ended = _call(stack, "GET", "/chains/oa-chain", "/chains/{id}")
    assert ended["status"] == "Cancelled", ended
    assert _call(stack, "POST", "/chains/oa-chain/cancel", "/chains/{id}/cancel")[0] == 409


@pytest.mark.parametrize("connection", ["azureml-sim", "foundry-sim", "abacus-sim"])
def test_connection_routes_answer_as_documented(stack, connection):
    status, listed = _call(stack, "GET", "/connections")
    assert status == 200 and connection in {c["name"] for c in listed["connections"]}
    status, jobs = _call(stack, "GET", f"/connections/{connection}/jobs", "/connections/{connection}/jobs")
    assert status == 200 and jobs["jobs"]
    assert _call(stack, "GET", f"/connections/{connection}/jobs?pageSize=0", "/connections/{connection}/jobs")[0] == 400
    assert _call(stack, "GET", "/connections/nope/jobs", "/connections/{connection}/jobs")[0] == 404
    status, tested = _call(stack, "POST", f"/connections/{connection}/test", "/connections/{connection}/test")
    assert status == 200 and tested["ok"] is True
    assert _call(stack, "POST", "/connections/nope/test", "/connections/{connection}/test")[0] == 404


def test_a_failed_connection_test_answers_as_documented(stack, monkeypatch):
    monkeypatch.setenv("CONNECTIONS__abacus-bad__type", "abacus")
    monkeypatch.setenv("CONNECTIONS__abacus-bad__endpoint", stack.sim("abacus"))
    monkeypatch.setenv("CONNECTIONS__abacus-bad__apiKey", "not-the-key")
    status, tested = _call(stack, "POST", "/connections/abacus-bad/test", "/connections/{connection}/test")
    assert status == 200 and tested["ok"] is False


def test_refusals_of_a_start_answer_as_documented(stack, monkeypatch):
    monkeypatch.setenv("CONNECTIONS__abacus-bad__type", "abacus")
    monkeypatch.setenv("CONNECTIONS__abacus-bad__endpoint", stack.sim("abacus"))
    monkeypatch.setenv("CONNECTIONS__abacus-bad__apiKey", "not-the-key")
    bad_key = {"jobType": "abacus_pipeline", "connection": "abacus-bad", "job": "simtrain01", "runId": "oa-key",
               "parameters": [{"name": "epochs", "value": "3", "direction": "Input"}]}
    status, refused = _call(stack, "POST", "/runs", json=bad_key)
    assert status == 502 and refused["error"]["code"] == "AuthenticationFailed" and refused["error"]["hint"]
    step = {k: v for k, v in bad_key.items() if k != "runId"} | {"name": "only"}
    assert _call(stack, "POST", "/chains", json={"chainId": "oa-key-chain", "steps": [step]})[0] == 502
    status, _ = _call(stack, "GET", "/connections/abacus-bad/jobs", "/connections/{connection}/jobs")
    assert status == 502
    stack.pause_at(timedelta(minutes=8))
    assert _call(stack, "POST", "/chains", json=_chain("oa-ids"))[0] == 202
    assert _call(stack, "POST", "/runs", json=train_request("oa-ids"))[0] == 409
    assert _call(stack, "POST", "/runs", json=train_request("oa-ids-second"))[0] == 409
    assert _call(stack, "POST", "/runs", json=train_request("oa-taken"))[0] == 202
    assert _call(stack, "POST", "/chains", json=_chain("oa-taken"))[0] == 409
