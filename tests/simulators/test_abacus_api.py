"""Abacus simulator, the API surface: dispatch under /api/v0, verbs and argument places, the apiKey check,
envelopes, errorTypes and HTTP statuses, discovery and the read methods, checked on the wire against
abacus-pipelines.md (§ numbers point into it).

This module also holds the `Org` helper and `served()`, which the other `test_abacus_*` modules import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from devkit.clock import VirtualClock
from simulators.abacus import DEFAULT_API_KEY, create
from simulators.faults import FaultInjector
from simulators.registry import create_server
from simulators.server import SimServer

KEY = DEFAULT_API_KEY
HEX_ID = re.compile(r"^[0-9a-f]{10}$")
WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
PIPELINE_FIELDS = {  # §5 "Full object fields"
    "pipelineName",
    "pipelineId",
    "createdAt",
    "notebookId",
    "cron",
    "nextRunTime",
    "isProd",
    "warning",
    "createdBy",
    "steps",
    "pipelineReferences",
    "latestPipelineVersion",
    "codeSource",
    "pipelineVariableMappings",
}
VERSION_FIELDS = {
    "pipelineName",
    "pipelineId",
    "pipelineVersion",
    "createdAt",
    "updatedAt",
    "completedAt",
    "status",
    "error",
    "stepVersions",
    "codeSource",
    "pipelineVariableMappings",
}
STEP_VERSION_FIELDS = {
    "stepName",
    "pipelineStepVersion",
    "pipelineStepId",
    "pipelineId",
    "pipelineVersion",
    "createdAt",
    "updatedAt",
    "status",
    "error",
    "outputErrors",
    "pythonFunctionId",
    "functionVariableMappings",
    "stepDependencies",
    "outputVariableMappings",
    "cpuSize",
    "memory",
    "timeout",
    "pipelineStepVersionReferences",
    "codeSource",
}


class Org:
    """The calls an Abacus client makes, by hand, the way the SDK sends them (§1 "How the SDK's _request")."""

    def __init__(self, server: SimServer, http: requests.Session) -> None:
        self.server = server
        self.http = http
        self.base = server.url

    def call(self, verb: str, method: str, key: str | None = KEY, **args: Any) -> requests.Response:
        """GET/DELETE: query string (lists and dicts JSON-encoded, None dropped); POST/PATCH: JSON body."""
        url = f"{self.base}/api/v0/{method}"
        headers = {} if key is None else {"apiKey": key}
        if verb in ("GET", "DELETE"):
            params = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in args.items()}
            return self.http.request(verb, url, params=params, headers=headers)
        return self.http.request(verb, url, json=args, headers=headers)

    def get(self, method: str, **args: Any) -> requests.Response:
        return self.call("GET", method, **args)

    def post(self, method: str, **args: Any) -> requests.Response:
        return self.call("POST", method, **args)

    @staticmethod
    def ok(response: requests.Response) -> Any:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and set(body) == {"success", "result"}, body
        return body["result"]

    @staticmethod
    def refused(response: requests.Response, status: int, error_type: str | None) -> dict[str, Any]:
        """Assert an error envelope (§1): status, errorType (None: absent), requestId also in x-request-id."""
        assert response.status_code == status, response.text
        body = response.json()
        assert body["success"] is False and isinstance(body["error"], str) and body["error"]
        assert body.get("errorType") == error_type
        assert ("errorType" in body) == (error_type is not None)
        assert body["requestId"] == response.headers["x-request-id"]
        return body

    def run(self, pipeline_id: str = "simtrain01", mappings: Any = None) -> dict[str, Any]:
        return self.ok(self.post("runPipeline", pipelineId=pipeline_id, pipelineVariableMappings=mappings))

    def version(self, version_id: str) -> dict[str, Any]:
        return self.ok(self.get("describePipelineVersion", pipelineVersion=version_id))

    def status(self, version_id: str) -> str:
        return self.version(version_id)["status"]

    def steps(self, version_id: str) -> dict[str, str]:
        return {step["stepName"]: step["status"] for step in self.version(version_id)["stepVersions"]}

    def sim(self, verb: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(verb, f"{self.base}/_sim/{path}", **kwargs)

    def stats(self) -> dict[str, Any]:
        return self.sim("GET", "stats").json()


@contextmanager
def served(clock: VirtualClock, http: requests.Session, **options: Any) -> Iterator[Org]:
    """An Abacus simulator with platform `options`, stopped on exit."""
    with SimServer(create(clock, **options), faults=FaultInjector(seed=1)) as server:
        yield Org(server, http)


@pytest.fixture
def org(clock: VirtualClock, http: requests.Session) -> Iterator[Org]:
    with served(clock, http) as org:
        yield org


# -- dispatch, verbs, arguments --------------------------------------------------------------------------


def test_get_api_endpoint_answers_the_simulators_own_base_url(org):
    result = org.ok(org.get("getApiEndpoint"))
    assert result["apiEndpoint"] == result["predictEndpoint"] == result["proxyEndpoint"] == org.base
    assert org.ok(org.get("version")) == "1.4.119"
    assert org.ok(org.call("GET", "version", key=None)) == "1.4.119"  # the SDK may call it keyless


def test_api_endpoint_can_point_elsewhere_like_a_regional_stack(clock, http):
    with served(clock, http, api_endpoint="https://region-2.example.test/") as other:
        assert other.ok(other.get("getApiEndpoint"))["apiEndpoint"] == "https://region-2.example.test"


def test_each_method_has_one_verb_and_others_are_405_method_not_allowed(org):
    # §6 gotcha 1: describePipeline and listPipelineVersions are POST, describePipelineVersion is GET
    for verb, method in (("GET", "describePipeline"), ("GET", "listPipelineVersions"), ("POST", "listPipelines")):
        response = org.call(verb, method, pipelineId="simtrain01")
        org.refused(response, 405, "MethodNotAllowed")
    wrong = org.post("describePipelineVersion", pipelineVersion="x")
    assert wrong.headers["Allow"] == "GET"
    assert org.call("DELETE", "runPipeline").status_code == 405


def test_an_unknown_method_is_404_generic(org):
    body = org.refused(org.post("cancelPipelineVersion", pipelineVersion="x"), 404, "Generic404Error")
    assert "cancelPipelineVersion" in body["error"]  # §2: there is no cancel method


def test_arguments_are_read_only_from_the_verbs_place(org):
    # POST reads the JSON body: a client that sends describePipeline's pipelineId in the query misses it
    in_query = org.http.post(
        f"{org.base}/api/v0/describePipeline", params={"pipelineId": "simtrain01"}, headers={"apiKey": KEY}
    )
    body = org.refused(in_query, 400, "MissingParameterError")
    assert "pipelineId" in body["error"]
    # GET reads the query string: a body is ignored
    in_body = org.http.request(
        "GET", f"{org.base}/api/v0/describePipelineVersion", json={"pipelineVersion": "x"}, headers={"apiKey": KEY}
    )
    org.refused(in_body, 400, "MissingParameterError")


def test_explicit_nulls_and_unknown_keys_are_accepted(org):
    # §6 gotcha 7: the SDK sends optional arguments as explicit null; checklist 8: extra keys are ignored
    version = org.ok(
        org.post("runPipeline", pipelineId="simtrain01", pipelineVariableMappings=None, someFutureFlag=True)
    )
    assert version["status"] == "PENDING"
    listed = org.ok(org.post("listPipelineVersions", pipelineId="simtrain01", limit=None))
    assert listed[0]["pipelineVersion"] == version["pipelineVersion"]


@pytest.mark.parametrize(
    ("data", "error_type"),
    [(b"{not json", "InvalidRequest"), (b"[1, 2]", "InvalidRequest"), (b'"simtrain01"', "InvalidRequest")],
)
def test_a_body_that_is_not_a_json_object_is_400(org, data, error_type):
    response = org.http.post(
        f"{org.base}/api/v0/describePipeline", data=data, headers={"apiKey": KEY, "Content-Type": "application/json"}
    )
    org.refused(response, 400, error_type)


def test_the_registry_builds_it_with_options(http):
    server = create_server("abacus", VirtualClock(), api_key=["k1", "k2"], strict_types=True)
    with server:
        org = Org(server, http)
        assert org.ok(org.call("GET", "listPipelines", key="k2"))
        assert org.stats()["platform"] == "abacus"
    with pytest.raises(ValueError):
        create_server("abacus", VirtualClock(), auth_status=500)


# -- apiKey ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "wrong-key", KEY.upper()])
def test_a_missing_or_wrong_api_key_is_refused_401_permission_denied(org, key):
    response = org.call("POST", "runPipeline", key=key, pipelineId="simtrain01")
    body = org.refused(response, 401, "PermissionDeniedError")
    assert "API key" in body["error"]
    stats = org.stats()
    assert (stats["authRefusals"], stats["remoteJobsCreated"]) == (1, 0)


def test_the_api_key_header_name_is_case_insensitive_and_bearer_is_not_a_key(org):
    url = f"{org.base}/api/v0/listPipelines"
    assert org.http.get(url, headers={"APIKEY": KEY}).status_code == 200  # the SDK's proxy calls spell it so
    bearer_only = org.http.get(url, headers={"Authorization": f"Bearer {KEY}"})
    org.refused(bearer_only, 401, "PermissionDeniedError")


def test_the_refusal_status_and_type_are_configurable(clock, http):
    with served(clock, http, auth_status=403, auth_error_type="GenericPermissionDeniedError") as other:
        other.refused(other.call("GET", "listPipelines", key="nope"), 403, "GenericPermissionDeniedError")


# -- pipelines ---------------------------------------------------------------------------------------------


def test_describe_pipeline_declares_the_seeded_variables(org):
    pipeline = org.ok(org.post("describePipeline", pipelineId="simtrain01"))
    assert set(pipeline) >= PIPELINE_FIELDS
    assert (pipeline["pipelineId"], pipeline["pipelineName"]) == ("simtrain01", "sim_train")
    assert WIRE_TIME.match(pipeline["createdAt"])
    variables = {
        v["name"]: (v["variableType"], v["value"], v["isRequired"]) for v in pipeline["pipelineVariableMappings"]
    }
    assert variables == {
        "learning_rate": ("FLOAT", 0.01, True),
        "epochs": ("INTEGER", 10, True),
        "dataset_id": ("DATASET_ID", None, False),
    }
    assert [step["stepName"] for step in pipeline["steps"]] == ["prepare_data", "train_model", "evaluate_model"]
    train = pipeline["steps"][1]
    assert train["stepDependencies"] == ["prepare_data"]
    assert train["pythonFunction"]["outputVariableMappings"][0]["name"] == "model_id"
    assert all(HEX_ID.match(step["pipelineStepId"]) for step in pipeline["steps"])
    # the seeded pipelines ran before: the latest version is a finished one
    assert pipeline["latestPipelineVersion"]["status"] == "COMPLETE"


def test_list_pipelines_with_and_without_project(org):
    names = {p["pipelineId"] for p in org.ok(org.get("listPipelines"))}
    assert names == {"simtrain01", "simfail01"}
    assert len(org.ok(org.get("listPipelines", projectId="simproject01"))) == 2
    body = org.refused(org.get("listPipelines", projectId="nope"), 404, "DataNotFoundError")
    assert "nope" in body["error"]


def test_unknown_ids_are_404_data_not_found(org):
    # checklist item 3: unknown pipelineId / pipelineVersion -> 404 + DataNotFoundError
    org.refused(org.post("describePipeline", pipelineId="nope"), 404, "DataNotFoundError")
    org.refused(org.post("runPipeline", pipelineId="nope"), 404, "DataNotFoundError")
    org.refused(org.get("describePipelineVersion", pipelineVersion="nope"), 404, "DataNotFoundError")
    org.refused(org.post("listPipelineVersions", pipelineId="nope"), 404, "DataNotFoundError")
    org.refused(org.get("describePipelineStepVersion", pipelineStepVersion="nope"), 404, "DataNotFoundError")
    org.refused(org.post("skipPendingPipelineVersionSteps", pipelineVersion="nope"), 404, "DataNotFoundError")
    org.refused(org.post("describePipelineByName", pipelineName="nope"), 404, "DataNotFoundError")
    assert org.stats()["remoteJobsCreated"] == 0


def test_missing_required_arguments_are_400_missing_parameter(org):
    org.refused(org.post("runPipeline"), 400, "MissingParameterError")
    org.refused(org.post("runPipeline", pipelineId=None), 400, "MissingParameterError")
    org.refused(org.get("describePipelineVersion"), 400, "MissingParameterError")
    org.refused(org.post("runPipeline", pipelineId=42), 400, "InvalidParameterError")


def test_steps_by_id_and_name(org):
    pipeline = org.ok(org.post("describePipelineByName", pipelineName="sim_fail"))
    assert pipeline["pipelineId"] == "simfail01"
    step = pipeline["steps"][1]
    by_id = org.ok(org.get("describePipelineStep", pipelineStepId=step["pipelineStepId"]))
    by_name = org.ok(org.get("describePipelineStepByName", pipelineId="simfail01", stepName="train_model"))
    assert by_id == by_name == step
    org.refused(org.get("describePipelineStepByName", pipelineId="simfail01", stepName="x"), 404, "DataNotFoundError")


def test_a_new_version_has_every_documented_field(org):
    version = org.run()
    assert set(version) >= VERSION_FIELDS
    assert HEX_ID.match(version["pipelineVersion"])
    assert (version["status"], version["error"], version["completedAt"]) == ("PENDING", None, None)
    assert WIRE_TIME.match(version["createdAt"]) and version["updatedAt"] == version["createdAt"]
    for step in version["stepVersions"]:
        assert set(step) >= STEP_VERSION_FIELDS
        assert (step["status"], step["pipelineVersion"]) == ("PENDING", version["pipelineVersion"])
    step = version["stepVersions"][1]
    described = org.ok(org.get("describePipelineStepVersion", pipelineStepVersion=step["pipelineStepVersion"]))
    assert described == step
