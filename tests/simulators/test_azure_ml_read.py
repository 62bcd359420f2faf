"""Azure ML simulator, read side: Jobs_Get, Jobs_List and ARM errors (azureml-jobs.md §1, §2, §3)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from simulators.azure_ml import FORBIDDEN_TOKEN, WORKSPACE_ID

ARM_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$")
STATUSES = {
    "NotStarted",
    "Starting",
    "Provisioning",
    "Preparing",
    "Queued",
    "Running",
    "Finalizing",
    "CancelRequested",
    "Completed",
    "Failed",
    "Canceled",
    "NotResponding",
    "Paused",
    "Unknown",
}


def _info(body: dict, kind: str):
    return next(entry["info"]["value"] for entry in body["error"]["additionalInfo"] if entry["type"] == kind)


def test_get_returns_the_template_as_a_job_base_resource(ws):
    response = ws.get("train-pipeline")
    assert response.status_code == 200
    job = response.json()
    assert job["id"] == f"{WORKSPACE_ID}/jobs/train-pipeline"
    assert (job["name"], job["type"]) == (
        "train-pipeline",
        "Microsoft.MachineLearningServices/workspaces/jobs",
    )
    assert ARM_TIME.match(job["systemData"]["createdAt"])
    assert job["systemData"]["createdByType"] == "User"
    props = job["properties"]
    assert (props["jobType"], props["status"]) == ("Pipeline", "Completed")
    assert props["inputs"]["learning_rate"] == {
        "description": None,
        "jobInputType": "literal",
        "value": "0.01",
    }
    assert props["inputs"]["epochs"]["value"] == "10"
    assert set(props["outputs"]) == {"model_uri", "accuracy"}
    assert props["jobs"]["train"]["inputs"]["lr"] == {
        "job_input_type": "literal",
        "value": "${{parent.inputs.learning_rate}}",
    }
    assert props["services"]["Studio"]["endpoint"].startswith(
        "https://ml.azure.com/runs/train-pipeline?wsid="
    )
    assert props["properties"]["azureml.parameters"] == '{"learning_rate":"0.01","epochs":"10"}'
    # §2.7: ARM never carries times or errors
    assert not {"startTime", "endTime", "error"} & set(props)
    assert "x-ms-request-id" in response.headers


def test_seeded_templates_ended_as_their_clones_will(ws):
    assert [ws.status(name) for name in ("train-pipeline", "failing-pipeline", "long-pipeline")] == [
        "Completed",
        "Failed",
        "Completed",
    ]


def test_unknown_job_is_404_user_error_with_mfe_additional_info(ws):
    response = ws.get("no-such-job")
    assert response.status_code == 404
    assert response.headers["x-ms-response-type"] == "error"
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("UserError", "Job no-such-job not found.")
    assert _info(response.json(), "InnerError")["code"] == "NotFoundError"
    assert _info(response.json(), "ComponentName") == "managementfrontend"
    assert ARM_TIME.match(_info(response.json(), "Time"))


def test_job_names_are_case_sensitive_but_arm_path_segments_are_not(ws):
    assert ws.get("Train-Pipeline").status_code == 404
    url = ws.jobs_url("train-pipeline").replace("/resourceGroups/", "/resourcegroups/")
    assert ws.http.get(url, params={"api-version": ws.api_version}).status_code == 200


def test_api_version_is_required_and_must_be_known(ws):
    missing = ws.http.get(ws.jobs_url("train-pipeline"))
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    unknown = ws.http.get(ws.jobs_url("train-pipeline"), params={"api-version": "1999-01-01"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "NoRegisteredProviderFound"
    for version in ("2024-10-01", "2024-01-01-preview", "2023-02-01-preview"):
        assert ws.http.get(ws.jobs_url("train-pipeline"), params={"api-version": version}).status_code == 200


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, "AuthenticationFailed"), ("Basic dXNlcg==", "InvalidAuthenticationToken")],
)
def test_requests_without_a_bearer_token_get_arm_401(ws, authorization, code):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = requests.get(
        ws.jobs_url("train-pipeline"), params={"api-version": ws.api_version}, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.headers["WWW-Authenticate"].startswith(
        'Bearer authorization_uri="https://login.windows.net/'
    )
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_no_permission_principal_gets_403_authorization_failed(ws):
    headers = {"Authorization": f"Bearer {FORBIDDEN_TOKEN}"}
    response = ws.put("x1", {"properties": {"jobType": "Pipeline"}}, headers=headers)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "Microsoft.MachineLearningServices/workspaces/jobs/write" in error["message"]


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [("/sim-ws/", "/other-ws/", "ResourceNotFound"), ("/sim-rg/", "/other-rg/", "ResourceGroupNotFound")],
)
def test_wrong_workspace_or_group_is_an_arm_404(ws, old, new, code):
    url = ws.jobs_url("train-pipeline").replace(old, new)
    response = ws.http.get(url, params={"api-version": ws.api_version})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == code


def _all_pages(ws, **params) -> tuple[list[str], list[dict]]:
    pages = [ws.list(**params)]
    while "nextLink" in pages[-1].json():
        pages.append(ws.http.get(pages[-1].json()["nextLink"]))  # exactly as given (§1.1)
    assert all(page.status_code == 200 for page in pages)
    return [job["name"] for page in pages for job in page.json()["value"]], [page.json() for page in pages]


def test_list_pages_with_next_link_carrying_api_version_and_skip(ws):
    ws.clone("train-pipeline", "clone-a")
    first = ws.list().json()
    assert len(first["value"]) == 2
    link = urlsplit(first["nextLink"])
    assert link.path == f"{WORKSPACE_ID}/jobs"
    query = parse_qs(link.query)
    assert query["api-version"] == [ws.api_version]
    assert "$skip" in query
    names, pages = _all_pages(ws)
    assert names == ["clone-a", "long-pipeline", "failing-pipeline", "train-pipeline"]  # newest first
    assert "nextLink" not in pages[-1]  # absent on the last page
    for job in (job for page in pages for job in page["value"]):
        assert job["properties"]["status"] in STATUSES


def test_list_pages_stay_consistent_when_jobs_are_created_while_paging(ws):
    first = ws.list().json()
    ws.clone("train-pipeline", "late-clone")
    rest = ws.http.get(first["nextLink"]).json()
    names = [job["name"] for job in first["value"] + rest["value"]]
    assert names == ["long-pipeline", "failing-pipeline", "train-pipeline"]


def test_list_filters_job_type_tag_properties_and_archived(ws):
    assert _all_pages(ws, jobType="Pipeline")[0] == ["long-pipeline", "failing-pipeline", "train-pipeline"]
    assert _all_pages(ws, jobType="Command")[0] == []
    assert len(_all_pages(ws, tag="owner")[0]) == 3
    assert _all_pages(ws, tag="nope")[0] == []
    body = {
        "properties": {
            **ws.get("long-pipeline").json()["properties"],
            "isArchived": True,
            "properties": {"team": "vision"},
        }
    }
    body["properties"].pop("status")
    assert ws.put("long-pipeline", body).status_code == 200
    assert _all_pages(ws)[0] == ["failing-pipeline", "train-pipeline"]  # default ActiveOnly
    assert _all_pages(ws, listViewType="ArchivedOnly")[0] == ["long-pipeline"]
    assert len(_all_pages(ws, listViewType="All")[0]) == 3
    assert _all_pages(ws, listViewType="All", properties="team=vision")[0] == ["long-pipeline"]
    assert _all_pages(ws, listViewType="All", properties="team=nlp")[0] == []
    assert ws.list(listViewType="Sometimes").status_code == 400


def test_next_link_keeps_the_filters(ws):
    link = ws.list(jobType="Pipeline", listViewType="All").json()["nextLink"]
    query = parse_qs(urlsplit(link).query)
    assert (query["jobType"], query["listViewType"]) == (["Pipeline"], ["All"])


def test_filter_and_top_do_not_exist_they_are_ignored_and_counted(ws):
    # §1.1: Jobs_List has no $filter or $top; ignoring them mimics the likely service behaviour
    names, _ = _all_pages(ws, **{"$filter": "jobType eq 'Pipeline'", "$top": "1"})
    assert len(names) == 3
    assert ws.stats()["unsupportedListParams"] == {"$filter": 1, "$top": 1}


def test_a_bad_continuation_token_is_400(ws):
    response = ws.list(**{"$skip": "not-a-token"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
