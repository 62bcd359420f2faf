"""The real DurableOrchestrationClient and the app's HTTP triggers work against devhost over loopback HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from azure.durable_functions import OrchestrationRuntimeStatus

from .conftest import EPOCH, FUNCTION_KEY, as_json


def test_start_new_and_get_status_round_trip(served):
    client = served.client()
    iid = served.run(client.start_new("chain", "fixed-id", {"n": 5}))
    assert iid == "fixed-id"
    served.wait(iid)
    status = served.run(client.get_status(iid, show_input=True))
    assert status.runtime_status == OrchestrationRuntimeStatus.Completed
    assert status.output == {"echo": 20}
    # The SDK client double-encodes inputs: the status API shows the input as JSON text (§1.7).
    assert as_json(status.input_) == {"n": 5}
    assert status.name == "chain" and status.created_time is not None


def test_get_status_of_an_unknown_instance_is_empty(served):
    status = served.run(served.client().get_status("no-such-instance"))
    assert not status


def test_starting_a_running_instance_id_again_is_refused_and_a_finished_one_is_replaced(served):
    client = served.client()
    served.host.set_time_limit(EPOCH + timedelta(minutes=1))
    served.run(client.start_new("approval", "dup", None))
    with pytest.raises(Exception, match="already exists"):
        served.run(client.start_new("approval", "dup", None))
    served.run(client.terminate("dup", "done with it"))
    served.wait("dup")
    served.run(client.start_new("chain", "dup", {"n": 1}))
    assert served.wait("dup").output == {"echo": 4}


def test_unknown_orchestrator_is_a_clean_client_error(served):
    with pytest.raises(Exception, match="doesn't exist"):
        served.run(served.client().start_new("nope", None, None))


def test_raise_event_through_the_client_arrives_json_encoded_as_in_azure(served):
    client = served.client()
    served.host.set_time_limit(EPOCH + timedelta(minutes=30))
    iid = served.run(client.start_new("approval", None, None))
    served.host.wait_idle()
    served.run(client.raise_event(iid, "approve", {"by": "ops"}))
    done = served.wait(iid)
    # Known 1.x behaviour (issue #295): the payload reaches the orchestrator as JSON text.
    assert as_json(done.output["approved"]) == {"by": "ops"}


def test_raise_event_and_terminate_on_a_finished_instance_are_gone(served):
    client = served.client()
    iid = served.run(client.start_new("chain", None, {"n": 1}))
    served.wait(iid)
    with pytest.raises(Exception, match="is gone"):
        served.run(client.raise_event(iid, "approve", 1))
    served.run(client.terminate(iid, "late"))  # 410: the SDK treats it as done, the output stays
    assert served.host.get(iid).output == {"echo": 4}
    with pytest.raises(Exception, match="No instance"):
        served.run(client.terminate("missing", "late"))
    with pytest.raises(Exception, match="No instance"):
        served.run(client.raise_event("missing", "approve", 1))


def test_terminate_ends_a_running_instance_with_the_reason(served):
    client = served.client()
    served.host.set_time_limit(EPOCH + timedelta(minutes=1))
    iid = served.run(client.start_new("approval", None, None))
    served.host.wait_idle()
    served.run(client.terminate(iid, "operator cancelled"))
    status = served.run(client.get_status(iid))
    assert status.runtime_status == OrchestrationRuntimeStatus.Terminated
    assert status.output == "operator cancelled"


def test_get_status_by_filters_on_runtime_status_and_purge_deletes(served):
    client = served.client()
    served.host.set_time_limit(EPOCH + timedelta(minutes=1))
    done_id = served.run(client.start_new("chain", "done-1", {"n": 1}))
    served.wait(done_id)
    waiting_id = served.run(client.start_new("approval", "waiting-1", None))
    served.host.wait_idle()
    completed = served.run(client.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Completed]))
    running = served.run(client.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Running]))
    assert [s.instance_id for s in completed] == [done_id]
    assert [s.instance_id for s in running] == [waiting_id]
    assert len(served.run(client.get_status_all())) == 2
    result = served.run(client.purge_instance_history(done_id))
    assert result.instances_deleted == 1
    assert not served.run(client.get_status(done_id))


def test_show_history_lists_named_events_with_function_names(served):
    client = served.client()
    iid = served.run(client.start_new("chain", None, {"n": 1}))
    served.wait(iid)
    status = served.run(client.get_status(iid, show_history=True, show_history_output=True))
    events = status.historyEvents
    kinds = [e["EventType"] for e in events]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"
    assert "OrchestratorStarted" not in kinds and "TaskScheduled" not in kinds
    completed = [e for e in events if e["EventType"] == "TaskCompleted"]
    assert [e["FunctionName"] for e in completed] == ["double", "double", "async_echo"]
    assert completed[0]["Result"] == "2"


def test_http_starter_returns_check_status_urls_that_work(served):
    url = f"{served.base_url}/api/orchestrators/chain?code={FUNCTION_KEY}"
    response = requests.post(url, json={"n": 2}, timeout=10)
    assert response.status_code == 202
    payload = response.json()
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert payload["statusQueryGetUri"].startswith(served.base_url + "/runtime/webhooks/durabletask/instances/")
    served.wait(payload["id"])
    status = requests.get(payload["statusQueryGetUri"], timeout=10)
    assert status.status_code == 200
    assert status.json()["runtimeStatus"] == "Completed" and status.json()["output"] == {"echo": 8}
    assert requests.post(payload["terminatePostUri"].replace("{text}", "x"), timeout=10).status_code == 410


def test_function_key_is_required_only_where_the_auth_level_asks(served):
    assert requests.post(f"{served.base_url}/api/orchestrators/chain", json={"n": 1}, timeout=10).status_code == 401
    ok = requests.post(f"{served.base_url}/api/orchestrators/chain", json={"n": 1}, timeout=10,
                       headers={"x-functions-key": FUNCTION_KEY})
    assert ok.status_code == 202
    assert requests.get(f"{served.base_url}/runtime/webhooks/durabletask/instances/", timeout=10).status_code == 401
    anonymous = requests.get(f"{served.base_url}/api/hello/ada", timeout=10)
    assert anonymous.status_code == 200 and anonymous.json() == {"hello": "ada"}
    assert requests.get(f"{served.base_url}/api/hello", timeout=10).json() == {"hello": "world"}


def test_a_crashing_http_function_is_a_500_without_internals(served):
    response = requests.get(f"{served.base_url}/api/crash", timeout=10)
    assert response.status_code == 500
    assert "secret-internal-detail" not in response.text and "Traceback" not in response.text


def test_unknown_routes_are_404(served):
    assert requests.get(f"{served.base_url}/api/nothing-here", timeout=10).status_code == 404
    assert requests.get(f"{served.base_url}/elsewhere", timeout=10).status_code == 404
