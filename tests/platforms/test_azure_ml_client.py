"""The Azure ML client against the simulator over real HTTP, checked against reference/azureml-jobs.md."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests

from core.connections import load_connections
from core.errors import ValidationError
from core.parameters import Direction, Parameter
from core.run_request import RunRequest
from core.status import RunStatus
from devkit.clock import VirtualClock
from platforms.azure_ml.client import STATUS_TABLE, create_client
from platforms.azure_ml.clone import RUN_ID_TAG, build_clone, job_name
from platforms.http import PlatformError
from simulators.registry import create_server

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
# Every JobStatus the reference lists (§2.5), PascalCase, Canceled with one "l".
REFERENCE_STATUSES = ["NotStarted", "Starting", "Provisioning", "Preparing", "Queued", "Running", "Finalizing",
                      "CancelRequested", "Completed", "Failed", "Canceled", "NotResponding", "Paused", "Unknown"]


@pytest.fixture
def sim(monkeypatch):
    monkeypatch.setenv("RUNBRIDGE_LOCAL_CREDENTIAL", "1")
    clock = VirtualClock(T0)
    server = create_server("azure_ml", clock, port=0)
    url = server.start()
    connection = load_connections({
        "CONNECTIONS__ml__type": "azure_ml", "CONNECTIONS__ml__subscriptionId": "00000000-0000-0000-0000-000000000000",
        "CONNECTIONS__ml__resourceGroup": "sim-rg", "CONNECTIONS__ml__workspace": "sim-ws",
        "CONNECTIONS__ml__region": "simregion", "CONNECTIONS__ml__armEndpoint": url,
        "CONNECTIONS__ml__historyEndpoint": url, "CONNECTIONS__ml__tenantId": "11111111-2222-3333-4444-555555555555",
    })["ml"]
    yield create_client(connection), clock, url
    server.stop()


def request(job: str = "train-pipeline", **values: str) -> RunRequest:
    params = tuple(Parameter(k, Direction.INPUT, v) for k, v in values.items())
    return RunRequest("azureml_pipeline", "ml", job, (*params, Parameter("model_uri", Direction.OUTPUT)), "r1")


def stats(url: str) -> dict:
    return requests.get(f"{url}/_sim/stats", timeout=5).json()


def test_every_reference_status_is_in_the_table_and_maps_as_documented():
    assert set(STATUS_TABLE) == set(REFERENCE_STATUSES)
    assert STATUS_TABLE["Canceled"] is RunStatus.CANCELLED and STATUS_TABLE["CancelRequested"] is RunStatus.RUNNING
    assert STATUS_TABLE["NotResponding"] is RunStatus.UNKNOWN and STATUS_TABLE["Paused"] is RunStatus.UNKNOWN
    assert {STATUS_TABLE[s] for s in ("NotStarted", "Starting", "Provisioning", "Preparing", "Queued")} == {
        RunStatus.STARTING}


def test_the_clone_body_follows_the_reference_field_by_field(sim):
    client, _, _ = sim
    template = client.get_job("train-pipeline")
    body = build_clone(template, "train-pipeline", "r1", {"learning_rate": "0.5"})
    props = body["properties"]
    assert set(body) == {"properties"}  # id, name, type, systemData are read-only (§2, §6)
    assert "status" not in props and "services" not in props  # read-only (§6.1)
    assert props["jobs"] == template["properties"]["jobs"]  # verbatim (§2.2)
    assert props["settings"] == template["properties"]["settings"]  # verbatim (§2.3)
    assert props["inputs"]["learning_rate"] == {"jobInputType": "literal", "value": "0.5"}  # §2.1
    assert props["inputs"]["epochs"]["value"] == template["properties"]["inputs"]["epochs"]["value"]
    assert all(v is not None for v in props.values())  # nulls dropped (§6)
    assert not any(k.startswith("azureml.") for k in props.get("properties", {}))  # system keys dropped (§6)
    assert all("uri" not in output for output in props.get("outputs", {}).values())
    assert props["tags"][RUN_ID_TAG] == "r1" and props["jobType"] == "Pipeline"


def test_submit_then_poll_to_completion_with_times_and_outputs(sim):
    client, clock, url = sim
    submitted = client.submit(request(learning_rate="0.2", epochs="4"), "r1")
    assert submitted.remote_run_id == job_name("r1") == "runbridge-r1"
    assert submitted.monitor_url.startswith("https://ml.azure.com/runs/runbridge-r1")
    assert client.get_state("runbridge-r1").status is RunStatus.STARTING
    clock.advance(5 * 60)
    assert client.get_state("runbridge-r1").status is RunStatus.RUNNING
    clock.advance(3 * 3600)
    done = client.get_state("runbridge-r1")
    assert (done.status, done.remote_status) == (RunStatus.SUCCESS, "Completed")
    assert done.started_at and done.ended_at  # from RunHistory (§2.7)
    outputs = client.outputs("runbridge-r1", request())
    assert set(outputs) == {"model_uri", "accuracy"} and outputs["model_uri"].startswith("azureml://")
    assert stats(url)["pipelinePutsWithoutAzureMLToken"] == 0  # x-azureml-token sent (§1.3)


def test_a_failed_job_reports_the_runhistory_error(sim):
    client, clock, _ = sim
    client.submit(request("failing-pipeline"), "r1")
    clock.advance(3600)
    state = client.get_state("runbridge-r1")
    assert state.status is RunStatus.FAILED and state.error and "step" in state.error.lower()


def test_submitting_again_finds_the_job_instead_of_making_a_second_one(sim):
    client, _, url = sim
    first = client.submit(request(), "r1")
    second = client.submit(request(), "r1")
    assert first.remote_run_id == second.remote_run_id
    assert stats(url)["remoteJobsCreated"] == 1


@pytest.mark.parametrize("fault", [
    {"kind": "apply_then_timeout", "operation": "Jobs_CreateOrUpdate", "seconds": 0, "status": 504},
    {"kind": "apply_then_timeout", "operation": "Jobs_CreateOrUpdate", "seconds": 0},
    {"kind": "server_error", "operation": "Jobs_CreateOrUpdate"},
    {"kind": "throttle", "operation": "Jobs_CreateOrUpdate", "retryAfter": 1},
])
def test_a_failed_put_is_read_back_before_any_retry(sim, fault):
    client, _, url = sim
    requests.post(f"{url}/_sim/faults", json=fault, timeout=5).raise_for_status()
    try:
        submitted = client.submit(request(), "r1")
    except PlatformError as exc:  # nothing was made: the orchestrator submits again after the Retry-After
        assert exc.transient and stats(url)["remoteJobsCreated"] == 0
        submitted = client.submit(request(), "r1")
    assert submitted.remote_run_id == "runbridge-r1"
    assert stats(url)["remoteJobsCreated"] == 1
    assert stats(url)["requestsByOperation"]["Jobs_CreateOrUpdate"] <= 2  # never re-sent within one attempt


def test_check_request_names_the_wrong_field(sim):
    client, _, _ = sim
    with pytest.raises(ValidationError) as caught:
        client.check_request(request("no-such-job"))
    assert caught.value.field == "job"
    with pytest.raises(ValidationError) as caught:
        client.check_request(request(undeclared="1"))
    assert caught.value.field == "parameters[0].name"
    with pytest.raises(ValidationError) as caught:
        client.check_request(request(learning_rate="."))
    assert caught.value.field == "parameters[0].value"
    client.check_request(request(learning_rate="0.1"))


def test_cancel_is_asynchronous_and_ends_canceled(sim):
    client, clock, url = sim
    client.submit(request(), "r1")
    clock.advance(5 * 60)
    client.cancel("runbridge-r1")
    assert client.get_state("runbridge-r1").remote_status == "CancelRequested"  # a 202 is not "canceled" (§6.9)
    clock.advance(120)
    assert client.get_state("runbridge-r1").status is RunStatus.CANCELLED
    assert stats(url)["runningNow"] == 0


def test_a_vanished_job_is_failed_not_found_and_errors_are_platform_errors(sim):
    client, _, url = sim
    assert client.get_state("runbridge-ghost").error_code.value == "NotFound"
    requests.post(f"{url}/_sim/faults", json={"kind": "throttle", "operation": "Jobs_Get", "retryAfter": 7},
                  timeout=5).raise_for_status()
    with pytest.raises(PlatformError) as caught:
        client.get_state("runbridge-ghost")
    assert caught.value.transient and caught.value.retry_after == 7


def test_discovery_lists_templates_across_pages_without_clones(sim):
    client, _, _ = sim
    client.submit(request(), "r1")
    names, token, pages = [], None, 0
    while True:
        page = client.list_jobs(token)
        names += [j.job for j in page.jobs]
        pages += 1
        token = page.next_page
        if not token:
            break
    assert pages > 1  # the simulator pages small, so nextLink was followed
    assert {"train-pipeline", "failing-pipeline", "long-pipeline"} <= set(names)
    assert "runbridge-r1" not in names


def test_discovered_parameters_are_the_template_inputs_with_their_literal_defaults(sim):
    client, _, _ = sim
    token, found = None, None
    while found is None:
        page = client.list_jobs(token)
        found = next((j for j in page.jobs if j.job == "train-pipeline"), None)
        token = page.next_page
        if found is None and not token:
            break
    assert found is not None
    params = {p.name: p for p in found.parameters}
    assert (params["learning_rate"].direction, params["learning_rate"].default) == ("Input", "0.01")
    assert params["epochs"].default == "10"
    assert params["model_uri"].direction == "Output"


def test_monitor_link_built_from_the_workspace_when_the_job_has_none(sim):
    client, _, _ = sim
    url = client.monitor_url("abc")
    assert url == ("https://ml.azure.com/runs/abc?wsid=/subscriptions/00000000-0000-0000-0000-000000000000/"
                   "resourcegroups/sim-rg/workspaces/sim-ws&tid=11111111-2222-3333-4444-555555555555")



@pytest.mark.parametrize("kind", ["gateway_200", "cut_body", "reset", "non_json_200"])
def test_a_put_that_made_the_job_but_answered_badly_is_read_back(sim, kind):
    client, _, url = sim
    requests.post(f"{url}/_sim/faults", json={"kind": kind, "operation": "Jobs_CreateOrUpdate"}, timeout=5)
    submitted = client.submit(request(learning_rate="0.1"), "r1")
    assert submitted.remote_run_id == job_name("r1") and stats(url)["remoteJobsCreated"] == 1


@pytest.mark.parametrize("kind", ["gateway_200", "cut_body", "non_json_200", "gateway_502"])
def test_a_spoiled_poll_is_transient_never_a_status(sim, kind):
    client, _, url = sim
    client.submit(request(learning_rate="0.1"), "r1")
    requests.post(f"{url}/_sim/faults", json={"kind": kind, "operation": "Jobs_Get"}, timeout=5)
    with pytest.raises(PlatformError) as caught:
        client.get_state(job_name("r1"))
    assert caught.value.transient


@pytest.mark.parametrize("link", [
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sim-rg",
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sim-rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/sim-ws/computes/x",
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sim-rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/other-ws/jobs?api-version=2024-10-01",
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sim-rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/sim-ws/jobs/../../other-ws/jobs",
    "https://elsewhere.example/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sim-rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/sim-ws/jobs",
])
def test_a_page_link_outside_the_workspace_job_list_is_refused_before_sending(sim, link):
    client, _, url = sim
    before = stats(url)["requestsTotal"]
    with pytest.raises(PlatformError) as refused:
        client.list_jobs(link)
    assert refused.value.code == "ForeignUrl" and stats(url)["requestsTotal"] == before
