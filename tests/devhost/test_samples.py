"""devhost serves the public Durable Functions Python samples unchanged, driven as a user drives them:
HTTP start route, the check-status payload's URLs, the sample's own status/approve/stop routes.

The apps under samples/ are recreated in the samples' shapes (see samples/README.md); the list of what is
covered and what is not is in devhost/README.md.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost.azurite import Azurite, azurite_unavailable

from .conftest import HERE, Served, close, serve

SAMPLES = HERE / "samples"


@contextlib.contextmanager
def sample(name: str, tmp_path: Path, key: str | None = None) -> Iterator[Served]:
    s = serve(SAMPLES / name, str(tmp_path / f"{name}.sqlite"), key=key)
    try:
        yield s
    finally:
        close(s)


def started(response: requests.Response) -> dict:
    """The check-status payload of a start route (202 + Location, durable-functions.md §2.4)."""
    assert response.status_code == 202, response.text
    payload = response.json()
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    return payload


def finished(served: Served, payload: dict, status: str = "Completed") -> dict:
    """Wait for the instance, then read it through the status URL the sample handed out."""
    served.wait(payload["id"])
    body = requests.get(payload["statusQueryGetUri"], timeout=10).json()
    assert body["runtimeStatus"] == status, body["output"]
    return body


# ---- the SDK's samples-v2 ----------------------------------------------------------------------
def test_v2_function_chaining(tmp_path):
    with sample("v2_function_chaining", tmp_path) as s:
        payload = started(requests.get(f"{s.base_url}/api/orchestrators/my_orchestrator", timeout=10))
        assert finished(s, payload)["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_v2_blueprint_with_a_function_key(tmp_path):
    with sample("v2_blueprint", tmp_path, key="sample-key") as s:
        assert requests.get(f"{s.base_url}/api/startOrchestrator", timeout=10).status_code == 401
        payload = started(requests.get(f"{s.base_url}/api/startOrchestrator?code=sample-key", timeout=10))
        assert "code=sample-key" in payload["statusQueryGetUri"]
        assert finished(s, payload)["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
        hello = requests.get(f"{s.base_url}/api/HttpTrigger", params={"name": "Ada", "code": "sample-key"},
                             timeout=10)
        assert hello.text.startswith("Hello, Ada.")


def test_v2_simple_sub_orchestration(tmp_path):
    with sample("v2_simple_sub_orchestration", tmp_path) as s:
        payload = started(requests.post(f"{s.base_url}/api/orchestrators/orchestrator", timeout=10))
        assert finished(s, payload)["output"] == "Hello Seattle"


def test_v2_serialize_arguments(tmp_path):
    with sample("v2_serialize_arguments", tmp_path) as s:
        payload = started(requests.post(f"{s.base_url}/api/orchestrators/orchestrator", timeout=10))
        assert finished(s, payload)["output"] == 5


def test_v2_orchestration_versioning(tmp_path):
    with sample("v2_orchestration_versioning", tmp_path) as s:
        default = started(requests.post(f"{s.base_url}/api/orchestrators/my_orchestrator", timeout=10))
        chosen = started(requests.post(f"{s.base_url}/api/orchestrators/my_orchestrator?version=2.0", timeout=10))
        s.host.wait_idle()
        for payload in (default, chosen):
            status = requests.get(payload["statusQueryGetUri"], timeout=10).json()
            assert status["customStatus"] == "Waiting for Continue event..."
            raised = requests.post(payload["sendEventPostUri"].replace("{eventName}", "Continue"), json={}, timeout=10)
            assert raised.status_code == 202
        assert finished(s, default)["output"] == [
            "Orchestration version: 1.0", "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 1.0", "Hello from A!"]
        assert finished(s, chosen)["output"][0::3] == ["Orchestration version: 2.0", "Hello from B!"]


@pytest.mark.skipif(bool(azurite_unavailable(("blob",))), reason="needs Node and the azurite npm package")
def test_v2_fan_in_fan_out_backs_files_up_to_azurite_blobs(tmp_path, monkeypatch):
    site = tmp_path / "site"
    for folder, text in (("E2_One", "one"), ("E2_Two", "second file"), ("Other", "skipped")):
        (site / folder).mkdir(parents=True)
        (site / folder / "__init__.py").write_text(text)
    with Azurite(("blob",)) as azurite:
        monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)  # the sample reads it at import
        s = serve(SAMPLES / "v2_fan_in_fan_out", str(tmp_path / "fan.sqlite"), key=None)
        try:
            payload = started(requests.post(f"{s.base_url}/api/orchestrators/E2_BackupSiteContent",
                                            json=str(site), timeout=10))
            assert finished(s, payload)["output"] == len("one") + len("second file")
        finally:
            close(s)


# ---- the Durable Task Scheduler's Functions samples (run on devhost's store, not on a scheduler) ----
@pytest.fixture
def taskhub(monkeypatch):
    monkeypatch.setenv("TASKHUB_NAME", "samplehub")


def test_dts_function_chaining_and_its_status_route(tmp_path, taskhub):
    with sample("dts_function_chaining", tmp_path) as s:
        assert s.host.task_hub == "samplehub"  # hubName "%TASKHUB_NAME%" reads the app setting
        payload = started(requests.post(f"{s.base_url}/api/function_chaining", json={"name": "Ada"}, timeout=10))
        assert "taskHub=samplehub" in payload["statusQueryGetUri"]
        s.wait(payload["id"])
        status = requests.get(f"{s.base_url}/api/status/{payload['id']}", timeout=10).json()
        assert status["runtimeStatus"] == "OrchestrationRuntimeStatus.Completed"
        assert status["output"] == "Hello Ada! How are you today? I hope you're doing well!"
        assert requests.get(f"{s.base_url}/api/status/nope", timeout=10).status_code == 404


def test_dts_fan_out_fan_in(tmp_path, taskhub):
    with sample("dts_fan_out_fan_in", tmp_path) as s:
        payload = started(requests.post(f"{s.base_url}/api/fan_out_fan_in", json={"workItems": ["a", "b"]},
                                        timeout=10))
        output = finished(s, payload)["output"]
        assert output["processed_items"] == ["Processed_a", "Processed_b"] and output["success"] is True


def test_dts_async_http_api_and_cancel(tmp_path, taskhub):
    with sample("dts_async_http_api", tmp_path) as s:
        payload = started(requests.post(f"{s.base_url}/api/async_http_api", json={"duration": 0.04}, timeout=10))
        output = finished(s, payload)["output"]
        assert output["status"] == "completed" and output["input_data"] == {"sample": "data"}
        slow = started(requests.post(f"{s.base_url}/api/async_http_api", json={"duration": 2}, timeout=10))
        cancel = requests.post(f"{s.base_url}/api/cancel/{slow['id']}", timeout=10)
        assert cancel.status_code == 200
        assert finished(s, slow, "Terminated")["output"] == "Operation cancelled by user request"


def test_dts_eternal_orchestrations_continue_as_new_until_done_and_stop(tmp_path, taskhub):
    with sample("dts_eternal_orchestrations", tmp_path) as s:
        config = {"task_type": "report", "interval_minutes": 0, "max_iterations": 3}
        payload = started(requests.post(f"{s.base_url}/api/eternal_orchestration", json=config, timeout=10))
        assert finished(s, payload)["output"]["total_iterations"] == 3
        forever = started(requests.post(f"{s.base_url}/api/eternal_orchestration",
                                        json={**config, "max_iterations": 10**6}, timeout=10))
        assert requests.post(f"{s.base_url}/api/stop/{forever['id']}", timeout=10).status_code == 200
        assert finished(s, forever, "Terminated")["output"] == "Stopped by user request"


def test_dts_human_interaction_approval(tmp_path, taskhub):
    with sample("dts_human_interaction", tmp_path) as s:
        payload = started(requests.post(f"{s.base_url}/api/human_interaction", json={"amount": 20}, timeout=10))
        s.host.wait_idle()
        waiting = requests.get(f"{s.base_url}/api/status/{payload['id']}", timeout=10).json()
        assert waiting["customStatus"]["status"] == "waiting_for_approval"
        approve = requests.post(f"{s.base_url}/api/approve/{payload['id']}",
                                json={"approved": True, "approver": "lee"}, timeout=10)
        assert approve.status_code == 200 and approve.json()["event_raised"] is True
        output = finished(s, payload)["output"]
        assert (output["status"], output["approved_by"], output["amount"]) == ("approved", "lee", 20)


def test_dts_monitoring(tmp_path, taskhub):
    with sample("dts_monitoring", tmp_path) as s:
        payload = started(requests.post(f"{s.base_url}/api/start_monitoring_job",
                                        json={"job_id": "j1", "polling_interval_seconds": 0}, timeout=10))
        output = finished(s, payload)["output"]
        assert (output["final_status"], output["checks_performed"]) == ("Completed", 4)


def test_dts_hello_cities(tmp_path, taskhub):
    with sample("dts_hello_cities", tmp_path) as s:
        chain = started(requests.post(f"{s.base_url}/api/StartChaining", timeout=10))
        fan = started(requests.post(f"{s.base_url}/api/StartFanOutFanIn", timeout=10))
        assert finished(s, chain)["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
        assert len(finished(s, fan)["output"]) == 5


def test_dts_large_payload(tmp_path, taskhub):
    with sample("dts_large_payload", tmp_path) as s:
        payload = started(requests.get(f"{s.base_url}/api/startlargepayload", timeout=10))
        assert finished(s, payload)["output"]["total_size_kb"] == 500
        assert requests.get(f"{s.base_url}/api/hello", timeout=10).text == "Hello from Large Payload Sample!"


def test_dts_work_item_filtering_as_the_functions_host_would_index_it(tmp_path, taskhub):
    with sample("dts_work_item_filtering", tmp_path) as s:
        # Its starters put `bp.durable_client_input` above `app.route`. With azure-functions 1.26 the
        # Blueprint's decorator then pops its own last function (Blueprint._validate_type), the entity, and
        # gives it the five client bindings: the indexed starters have no client (500 under any host) and
        # the entity is wrapped in the client middleware, which fails its invocations.
        assert s.host.app.all["start_greeting"].binding("durableClient") is None
        assert s.host.app.all["counter_entity"].binding("durableClient") is not None
        assert requests.post(f"{s.base_url}/api/orchestrators/greeting", timeout=10).status_code == 500
        outputs = {name: s.wait(s.start(name)).output
                   for name in ("greeting_orchestration", "fan_out_orchestration", "parent_orchestration")}
        assert outputs == {"greeting_orchestration": "Hello, World!",
                           "fan_out_orchestration": ["Hello, Tokyo!", "Hello, London!", "Hello, Seattle!"],
                           "parent_orchestration": "Parent received: Hello, World!"}
        counter = s.wait(s.start("counter_orchestration"))
        assert counter.status == "Failed" and "Entity function 'counter_entity' failed" in counter.output


def test_every_sample_folder_is_exercised():
    tested = {name.split("test_", 1)[1] for name in globals() if name.startswith("test_")}
    for folder in os.listdir(SAMPLES):
        if (SAMPLES / folder / "function_app.py").is_file():
            assert any(t.startswith(folder) for t in tested), folder
