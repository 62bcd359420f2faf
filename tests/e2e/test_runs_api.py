"""The run API's contract: strict validation (4xx naming the field), idempotent starts, reads, lists, history."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import train_request


def _error(response: requests.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


def _nothing_created(stack) -> None:
    assert stack.host.store.query(limit=10) == []
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 0


@pytest.mark.parametrize(("mutate", "field", "status"), [
    (lambda b: b.pop("jobType"), "jobType", 400),
    (lambda b: b.update(jobType="nope_type"), "jobType", 400),
    (lambda b: b.update(jobType="foundry_agent"), "connection", 400),  # azureml-sim cannot run agents
    (lambda b: b.update(connection="missing-conn"), "connection", 400),
    (lambda b: b.update(job="no-such-template"), "job", 400),
    (lambda b: b.update(runId="../etc/passwd"), "runId", 400),
    (lambda b: b.update(runId=7), "runId", 400),
    (lambda b: b.update(timeout="P1Y"), "timeout", 400),
    (lambda b: b.update(endpoint="https://evil.example"), "endpoint", 400),
    (lambda b: b.update(apiKey="secret"), "apiKey", 400),
    (lambda b: b.update(surprise=1), "surprise", 400),
    (lambda b: b["parameters"].append({"name": "learning_rate", "value": "1", "direction": "Input"}),
     "parameters[4].name", 400),
    (lambda b: b["parameters"][0].update(direction="Sideways"), "parameters[0].direction", 400),
    (lambda b: b["parameters"][0].update(name="not_declared"), "parameters[0].name", 400),
    (lambda b: b["parameters"][0].update(value="-"), "parameters[0].value", 400),
    (lambda b: b["parameters"][0].update(value="a\x00b"), "parameters[0].value", 400),
])
def test_each_bad_request_is_a_4xx_naming_the_field_and_creates_nothing(stack, mutate, field, status):
    body = train_request("bad-1")
    mutate(body)
    response = stack.post_run(body)
    assert response.status_code == status, response.text
    error = _error(response)
    assert error["field"] == field
    assert "Traceback" not in response.text
    _nothing_created(stack)


def test_malformed_and_oversized_bodies(stack):
    response = requests.post(f"{stack.api}/runs", data=b"{not json", timeout=10)
    assert response.status_code == 400 and _error(response)["field"] == "$"
    response = requests.post(f"{stack.api}/runs", data=b"[1, 2]", timeout=10)
    assert response.status_code == 400 and _error(response)["field"] == "$"
    response = requests.post(f"{stack.api}/runs", data=b"", timeout=10)
    assert response.status_code == 400
    huge = json.dumps(train_request("big-1", job="x" * (2 * 1024 * 1024)))
    response = requests.post(f"{stack.api}/runs", data=huge, timeout=10)
    assert response.status_code == 413 and _error(response)["code"] == "PayloadTooLarge"
    _nothing_created(stack)


def test_the_same_run_id_returns_the_same_run_and_a_different_request_conflicts(stack):
    first = stack.post_run(train_request("same-1"))
    assert first.status_code == 202
    again = stack.post_run(train_request("same-1"))
    assert again.status_code == 200 and again.json()["id"] == "same-1"
    other = stack.post_run(train_request("same-1", job="failing-pipeline", parameters=[]))
    assert other.status_code == 409 and _error(other)["field"] == "runId"
    stack.wait_run("same-1")
    after = stack.post_run(train_request("same-1"))
    assert after.status_code == 200 and after.json()["status"] == "Success"
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1


def test_a_run_without_run_id_gets_one(stack):
    body = train_request("x")
    body.pop("runId")
    response = stack.post_run(body)
    assert response.status_code == 202
    run_id = response.json()["id"]
    assert response.headers["Location"].endswith(f"/api/runs/{run_id}")
    assert stack.wait_run(run_id)["status"] == "Success"


def test_unknown_runs_are_404(stack):
    for path in ("runs/nope", "runs/nope/history", "runs/..%2F..%2Fx"):
        response = requests.get(f"{stack.api}/{path}", timeout=10)
        assert response.status_code == 404, path
        assert _error(response)["code"] == "NotFound"


def test_list_runs_filters_and_pages(stack):
    stack.post_run(train_request("list-ok"))
    stack.post_run(train_request("list-fail", job="failing-pipeline", parameters=[]))
    stack.wait_run("list-ok")
    stack.wait_run("list-fail")
    everything = requests.get(f"{stack.api}/runs", timeout=10).json()
    assert {r["id"] for r in everything["runs"]} == {"list-ok", "list-fail"}
    success = requests.get(f"{stack.api}/runs", params={"status": "Success"}, timeout=10).json()
    assert [r["id"] for r in success["runs"]] == ["list-ok"]
    typed = requests.get(f"{stack.api}/runs", params={"jobType": "azureml_pipeline"}, timeout=10).json()
    assert len(typed["runs"]) == 2
    first = requests.get(f"{stack.api}/runs", params={"pageSize": 1}, timeout=10).json()
    assert len(first["runs"]) == 1 and first["nextPage"]
    second = requests.get(f"{stack.api}/runs", params={"pageSize": 1, "page": first["nextPage"]}, timeout=10).json()
    assert len(second["runs"]) == 1 and second["runs"][0]["id"] != first["runs"][0]["id"]
    for params in ({"pageSize": 0}, {"pageSize": "x"}, {"status": "Done"}, {"jobType": "other"}):
        assert requests.get(f"{stack.api}/runs", params=params, timeout=10).status_code == 400


def test_a_status_filter_asks_the_task_hub_so_ended_runs_do_not_fill_its_pages(stack):
    for n in range(4):
        stack.post_run(train_request(f"done-{n}"))
        stack.wait_run(f"done-{n}")
    stack.host.set_time_limit(stack.clock.now() + timedelta(minutes=5))
    stack.post_run(train_request("live-1"))
    stack.host.wait_idle()
    assert stack.get_run("live-1")["status"] == "Running"
    running = requests.get(f"{stack.api}/runs", params={"status": "Running", "pageSize": 1}, timeout=10).json()
    assert [r["id"] for r in running["runs"]] == ["live-1"] and running["nextPage"] is None
    done = requests.get(f"{stack.api}/runs", params={"status": "Success", "pageSize": 2}, timeout=10).json()
    assert len(done["runs"]) == 2 and done["nextPage"]  # ended runs still page as before


def test_history_shows_the_event_log_without_secrets(stack):
    stack.post_run(train_request("hist-1"))
    stack.wait_run("hist-1")
    response = requests.get(f"{stack.api}/runs/hist-1/history", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "hist-1" and body["status"] == "Success"
    names = [e.get("name") for e in body["events"]]
    assert "poll_run" in names and "read_outputs" in names
    # The log is the current execution's: submit_run is in it unless the run has continued as new since
    # (azureml's policy does every 30 polls; a train-pipeline clone takes about that many).
    continued = any(e["EventType"] == 16 for e in stack.host.store.history("hist-1", all_executions=True))
    assert ("submit_run" in names) is not continued
    assert body["events"][-1]["type"] == "ExecutionCompleted"
    assert "devhost-local-token" not in response.text and "Bearer" not in response.text


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_json = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
_fields = st.sampled_from(["jobType", "connection", "job", "parameters", "runId", "timeout", "startTimeout",
                           "name", "endpoint", "token"])


@st.composite
def _bodies(draw):
    body = train_request(draw(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)))
    for _ in range(draw(st.integers(0, 3))):
        choice = draw(st.integers(0, 2))
        if choice == 0:
            body[draw(_fields)] = draw(_json)
        elif choice == 1:
            body.pop(draw(_fields), None)
        elif body.get("parameters") and isinstance(body["parameters"], list):
            index = draw(st.integers(0, len(body["parameters"]) - 1))
            if isinstance(body["parameters"][index], dict):
                body["parameters"][index][draw(st.sampled_from(["name", "direction", "value", "x"]))] = draw(_json)
    return draw(st.one_of(st.just(body), _json))


def test_no_generated_body_gets_a_5xx_and_only_valid_ones_start_runs(stack):
    started: set[str] = set()

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(_bodies())
    def check(body):
        response = requests.post(f"{stack.api}/runs", data=json.dumps(body), timeout=30)
        assert response.status_code in (200, 202, 400, 409, 413), response.text
        assert "Traceback" not in response.text
        if response.status_code in (200, 202):
            started.add(response.json()["id"])
        else:
            error = _error(response)
            assert isinstance(error["message"], str) and error["message"]

    check()
    ids = {row.id for row in stack.host.store.query(limit=10_000)}
    assert ids == started


def test_a_runs_page_token_not_given_out_by_this_app_is_a_400_naming_page(stack):
    for body in (train_request("pg-1"), train_request("pg-2")):
        assert stack.post_run(body).status_code == 202
    first = requests.get(f"{stack.api}/runs", params={"pageSize": 1}, timeout=10).json()
    assert first["nextPage"]  # a real token still pages on
    second = requests.get(f"{stack.api}/runs", params={"pageSize": 1, "page": first["nextPage"]}, timeout=10)
    assert second.status_code == 200 and second.json()["runs"] != first["runs"]
    jobs = requests.get(f"{stack.api}/connections/azureml-sim/jobs", params={"pageSize": 1}, timeout=10).json()
    for forged in ("garbage", "eyJ4IjoxfQ==", "';--", first["nextPage"][:-2] + "xx", jobs["nextPage"]):
        answer = requests.get(f"{stack.api}/runs", params={"page": forged}, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"]["field"] == "page", (forged, answer.text)
