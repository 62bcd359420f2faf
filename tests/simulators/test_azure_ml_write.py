"""Azure ML simulator, Jobs_CreateOrUpdate: create, validate, update a name (azureml-jobs.md §1.3, §2)."""

from __future__ import annotations

import copy

import pytest

from simulators.azure_ml import WORKSPACE_ID


def _inner(body: dict) -> dict:
    return next(e["info"]["value"] for e in body["error"]["additionalInfo"] if e["type"] == "InnerError")


def test_a_clone_is_created_201_not_started_with_server_filled_fields(ws):
    response = ws.clone("train-pipeline", "run-0001", learning_rate="0.05")
    assert response.status_code == 201
    job = response.json()
    assert job["id"] == f"{WORKSPACE_ID}/jobs/run-0001"
    assert (job["name"], job["type"]) == ("run-0001", "Microsoft.MachineLearningServices/workspaces/jobs")
    assert set(job["systemData"]) >= {"createdAt", "createdBy", "createdByType"}
    props = job["properties"]
    assert props["status"] == "NotStarted"
    assert props["inputs"]["learning_rate"]["value"] == "0.05"
    assert props["properties"]["azureml.parameters"] == '{"learning_rate":"0.05","epochs":"10"}'
    assert props["services"]["Studio"]["endpoint"].startswith("https://ml.azure.com/runs/run-0001?wsid=")
    assert props["services"]["Tracking"]["endpoint"].startswith("azureml://")
    assert all(output["uri"] is None for output in props["outputs"].values())  # filled only on completion
    assert ws.stats()["remoteJobsCreated"] == 1


def test_experiment_name_defaults_to_default(ws):
    response = ws.put("bare", {"properties": {"jobType": "Pipeline", "jobs": {}}})
    assert response.status_code == 201
    assert response.json()["properties"]["experimentName"] == "Default"


@pytest.mark.parametrize(
    ("name", "properties", "target"),
    [
        ("-bad-start", {"jobType": "Pipeline"}, "name"),
        ("x" * 256, {"jobType": "Pipeline"}, "name"),
        ("ok", {"displayName": "no job type"}, "properties.jobType"),
        ("ok", {"jobType": "FineTuning"}, "properties.jobType"),
        # the seed's shape: `type` instead of jobInputType, a number instead of a string (§2.1)
        (
            "ok",
            {"jobType": "Pipeline", "inputs": {"lr": {"value": 0.01, "type": "literal"}}},
            "properties.inputs.lr.jobInputType",
        ),
        (
            "ok",
            {"jobType": "Pipeline", "inputs": {"lr": {"jobInputType": "literal", "value": 0.01}}},
            "properties.inputs.lr.value",
        ),
        (
            "ok",
            {"jobType": "Pipeline", "inputs": {"lr": {"jobInputType": "literal", "value": ""}}},
            "properties.inputs.lr.value",
        ),
        (
            "ok",
            {"jobType": "Pipeline", "inputs": {"d": {"jobInputType": "uri_folder"}}},
            "properties.inputs.d.uri",
        ),
        (
            "ok",
            {"jobType": "Pipeline", "outputs": {"m": {"type": "uri_folder"}}},
            "properties.outputs.m.jobOutputType",
        ),
        ("ok", {"jobType": "Pipeline", "tags": {"n": 1}}, "properties.tags"),
    ],
)
def test_invalid_puts_are_400_validation_errors_with_details(ws, name, properties, target):
    response = ws.put(name, {"properties": properties})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ValidationError"
    assert target in [detail["target"] for detail in error["details"]]
    assert all(detail["code"] == "Invalid" for detail in error["details"])
    assert ws.stats()["remoteJobsCreated"] == 0


def test_a_body_without_properties_or_not_json_is_refused(ws):
    assert ws.put("ok", {"jobType": "Pipeline"}).json()["error"]["code"] == "ValidationError"
    bad = ws.http.put(
        ws.jobs_url("ok"),
        params={"api-version": "2024-10-01"},
        data=b"{",
        headers={"Content-Type": "application/json"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "BadRequest"


def test_the_same_put_again_is_200_and_creates_nothing_new(ws):
    body = ws.clone_body("train-pipeline", epochs="3")
    assert ws.put("same", body).status_code == 201
    again = ws.put("same", copy.deepcopy(body))
    assert again.status_code == 200
    assert again.json()["systemData"]["createdAt"] == ws.get("same").json()["systemData"]["createdAt"]
    assert ws.stats()["remoteJobsCreated"] == 1


def test_mutable_fields_change_with_200_and_tags_are_replaced(ws):
    body = ws.clone_body("train-pipeline")
    ws.put("meta", body)
    body["properties"].update(
        description="new", displayName="renamed", tags={"k": "v"}, properties={"added": "yes"}
    )
    response = ws.put("meta", body)
    assert response.status_code == 200
    props = response.json()["properties"]
    assert (props["description"], props["displayName"], props["tags"]) == ("new", "renamed", {"k": "v"})
    assert props["properties"]["added"] == "yes"
    assert "azureml.parameters" in props["properties"]
    assert "lastModifiedAt" in response.json()["systemData"]


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p["inputs"].update(epochs={"jobInputType": "literal", "value": "99"}),
        lambda p: p["settings"].update(force_rerun=True),
        lambda p: p["jobs"].pop("evaluate"),
        lambda p: p.update(properties={"owner": "someone-else"}),  # existing user property changed
    ],
)
def test_changing_immutable_parts_of_an_existing_name_is_job_property_immutable(ws, change):
    body = ws.clone_body("train-pipeline")
    body["properties"]["properties"] = {"owner": "me"}
    assert ws.put("fixed", body).status_code == 201
    change(body["properties"])
    response = ws.put("fixed", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UserError"
    assert "already exists" in response.json()["error"]["message"]
    assert _inner(response.json()) == {
        "code": "Immutable",
        "innerError": {"code": "JobPropertyImmutable", "innerError": None},
    }


def test_read_only_fields_are_ignored_by_default(ws):
    raw = ws.get("train-pipeline").json()  # id, name, type, systemData, status, services, system properties
    response = ws.put("raw-copy", raw)
    assert response.status_code == 201
    job = response.json()
    assert job["name"] == "raw-copy"
    assert job["properties"]["status"] == "NotStarted"


def test_strict_mode_refuses_read_only_fields_filters_and_undeclared_inputs(make_workspace):
    ws = make_workspace(strict=True)
    raw = ws.get("train-pipeline").json()
    refused = ws.put("raw-copy", raw)
    assert refused.status_code == 400
    targets = {detail["target"] for detail in refused.json()["error"]["details"]}
    assert {"id", "name", "type", "systemData", "properties.status"} <= targets
    assert "properties.properties.azureml.parameters" in targets
    assert ws.clone("train-pipeline", "ok-clone").status_code == 201
    unknown = ws.clone("train-pipeline", "typo", learning_rat="0.1")
    assert unknown.status_code == 400
    assert _inner(unknown.json())["code"] == "InputNotFound"
    assert ws.list(**{"$top": "5"}).status_code == 400


def test_pipeline_puts_without_the_azureml_token_header_are_counted(ws):
    body = ws.clone_body("train-pipeline")
    ws.put("no-aml-token", body)
    ws.put("with-aml-token", body, headers={"x-azureml-token": "aml-token"})
    assert ws.stats()["pipelinePutsWithoutAzureMLToken"] == 1
