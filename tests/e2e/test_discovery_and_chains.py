"""Discovery across connections, and chains whose steps feed outputs into later steps' inputs."""

from __future__ import annotations

from datetime import timedelta

import requests


def test_connections_are_listed_without_secrets(stack):
    body = requests.get(f"{stack.api}/connections", timeout=10).json()
    names = {c["name"]: c for c in body["connections"]}
    assert names["azureml-sim"]["type"] == "azure_ml" and names["azureml-sim"]["jobTypes"] == ["azureml_pipeline"]
    assert all(set(c) == {"name", "type", "jobTypes"} for c in body["connections"])
    assert "sim-abacus-key" not in requests.get(f"{stack.api}/connections", timeout=10).text


def test_jobs_of_a_connection_follow_the_platform_paging_in_one_shape(stack):
    response = requests.get(f"{stack.api}/connections/azureml-sim/jobs", timeout=10)
    assert response.status_code == 200
    body = response.json()
    jobs = {j["job"]: j for j in body["jobs"]}
    assert {"train-pipeline", "failing-pipeline", "long-pipeline"} <= set(jobs)
    train = jobs["train-pipeline"]
    assert set(train) == {"job", "displayName", "description", "parameters", "monitorUrl", "properties"}
    params = {p["name"]: p for p in train["parameters"]}
    assert params["learning_rate"] == {"name": "learning_rate", "direction": "Input", "type": "string",
                                       "required": False, "default": "0.01"}
    assert params["model_uri"]["direction"] == "Output"
    assert body["nextPage"] is None


def test_job_pages_can_be_walked_with_our_token(stack):
    seen, page = [], None
    for _ in range(10):
        params = {"pageSize": 1} | ({"page": page} if page else {})
        body = requests.get(f"{stack.api}/connections/azureml-sim/jobs", params=params, timeout=10).json()
        seen += [j["job"] for j in body["jobs"]]
        page = body["nextPage"]
        if not page:
            break
    assert {"train-pipeline", "failing-pipeline", "long-pipeline"} <= set(seen)
    assert requests.get(f"{stack.api}/connections/azureml-sim/jobs", params={"page": "garbage!"},
                        timeout=10).status_code == 400
    assert requests.get(f"{stack.api}/connections/nope/jobs", timeout=10).status_code == 404


def _train_step(name: str, **extra) -> dict:
    step = {"name": name, "jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline",
            "parameters": [{"name": "model_uri", "direction": "Output"}]}
    step.update(extra)
    return step


def test_a_chain_feeds_an_output_into_the_next_step(stack):
    second = _train_step("second")
    second["parameters"] = [{"name": "learning_rate", "direction": "Input",
                             "value": {"from": "first", "output": "model_uri"}},
                            {"name": "model_uri", "direction": "Output"}]
    response = requests.post(f"{stack.api}/chains", json={"chainId": "chain-1",
                                                          "steps": [_train_step("first"), second]}, timeout=10)
    assert response.status_code == 202, response.text
    # The answer is the chain's record as the task hub has it now (its first step may have started).
    started = response.json()
    assert [s["name"] for s in started["steps"]] == ["first", "second"] and started["status"] == "Running"
    assert started["steps"][1]["status"] == "NotRun" and started["createdAt"]
    stack.host.wait_for("chain-1", 60)
    chain = requests.get(f"{stack.api}/chains/chain-1", timeout=10).json()
    assert chain["status"] == "Success" and [s["status"] for s in chain["steps"]] == ["Success", "Success"]
    first_output = chain["steps"][0]["outputs"]["model_uri"]
    sent = {p["name"]: p.get("value") for p in stack.get_run("chain-1-second")["parameters"]}
    assert sent["learning_rate"] == first_output
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 2


def test_a_chain_stops_at_the_first_step_that_does_not_succeed(stack):
    steps = [_train_step("bad", job="failing-pipeline", parameters=[]), _train_step("after")]
    assert requests.post(f"{stack.api}/chains", json={"chainId": "chain-2", "steps": steps},
                         timeout=10).status_code == 202
    stack.host.wait_for("chain-2", 60)
    chain = requests.get(f"{stack.api}/chains/chain-2", timeout=10).json()
    assert chain["status"] == "Failed"
    assert [s["status"] for s in chain["steps"]] == ["Failed", "NotRun"]
    assert chain["steps"][0]["error"]["code"] == "RemoteFailed"
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1


def test_cancelling_a_chain_cancels_the_running_step(stack):
    stack.pause_at(timedelta(minutes=8))
    steps = [_train_step("one"), _train_step("two")]
    requests.post(f"{stack.api}/chains", json={"chainId": "chain-3", "steps": steps}, timeout=10)
    stack.host.wait_idle()
    assert requests.get(f"{stack.api}/chains/chain-3", timeout=10).json()["steps"][0]["status"] == "Running"
    assert requests.post(f"{stack.api}/chains/chain-3/cancel", timeout=10).status_code == 202
    stack.resume()
    stack.host.wait_for("chain-3", 60)
    chain = requests.get(f"{stack.api}/chains/chain-3", timeout=10).json()
    assert chain["status"] == "Cancelled" and [s["status"] for s in chain["steps"]] == ["Cancelled", "NotRun"]
    assert stack.sim_stats("azure_ml")["runningNow"] == 0
    assert requests.post(f"{stack.api}/chains/chain-3/cancel", timeout=10).status_code == 409


def test_bad_bindings_are_400_before_anything_runs(stack):
    def post(steps):
        return requests.post(f"{stack.api}/chains", json={"steps": steps}, timeout=10)

    later = _train_step("b")
    later["parameters"] = [{"name": "learning_rate", "direction": "Input", "value": {"from": "zzz", "output": "x"}}]
    response = post([_train_step("a"), later])
    assert response.status_code == 400 and response.json()["error"]["field"] == "steps[1].parameters[0].value"
    later["parameters"][0]["value"] = {"from": "a", "output": "not_an_output"}
    assert post([_train_step("a"), later]).json()["error"]["field"] == "steps[1].parameters[0].value"
    forward = _train_step("a")
    forward["parameters"] = [{"name": "learning_rate", "direction": "Input", "value": {"from": "b", "output": "x"}}]
    assert post([forward, _train_step("b")]).status_code == 400
    assert post([_train_step("a"), _train_step("a")]).json()["error"]["field"] == "steps[1].name"
    assert post([]).json()["error"]["field"] == "steps"
    assert post([_train_step("a", connection="nope")]).json()["error"]["field"] == "steps[0].connection"
    assert stack.host.store.query(limit=10) == []
    assert requests.get(f"{stack.api}/chains/none-such", timeout=10).status_code == 404


def test_the_seeds_conversation_chain_continues_the_first_runs_thread(stack):
    def step(name: str, message: str, thread=None) -> dict:
        thread_param = {"name": "thread_id", "direction": "InputOutput"}
        if thread is not None:
            thread_param["value"] = thread
        return {"name": name, "jobType": "foundry_agent", "connection": "foundry-sim",
                "job": "asst_echo00000000000000000000",
                "parameters": [{"name": "user_message", "value": message, "direction": "Input"}, thread_param,
                               {"name": "response", "direction": "Output"}]}

    steps = [step("ask", "first question"), step("follow", "second question", {"from": "ask", "output": "thread_id"})]
    assert requests.post(f"{stack.api}/chains", json={"chainId": "talk", "steps": steps}, timeout=10).status_code == 202
    stack.host.wait_for("talk", 60)
    chain = requests.get(f"{stack.api}/chains/talk", timeout=10).json()
    assert chain["status"] == "Success"
    first, second = ({p["name"]: p.get("value") for p in s["parameters"]} for s in chain["steps"])
    assert first["thread_id"] == second["thread_id"] and first["thread_id"].startswith("thread_")
    assert second["response"] == "You said: second question (message 2 in this thread)"


def test_a_chain_feeds_an_azure_ml_output_into_an_abacus_variable(stack):
    abacus = {"name": "retrain", "jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simtrain01",
              "parameters": [{"name": "dataset_id", "direction": "Input",
                              "value": {"from": "prepare", "output": "model_uri"}},
                             {"name": "model_id", "direction": "Output"}]}
    steps = [_train_step("prepare"), abacus]
    response = requests.post(f"{stack.api}/chains", json={"chainId": "mixed", "steps": steps}, timeout=10)
    assert response.status_code == 202, response.text
    stack.host.wait_for("mixed", 60)
    chain = requests.get(f"{stack.api}/chains/mixed", timeout=10).json()
    assert chain["status"] == "Success", chain
    uri = chain["steps"][0]["outputs"]["model_uri"]
    sent = {p["name"]: p.get("value") for p in stack.get_run("mixed-retrain")["parameters"]}
    assert sent["dataset_id"] == uri and chain["steps"][1]["outputs"]["model_id"]
