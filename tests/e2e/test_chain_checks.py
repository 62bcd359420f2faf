"""A chain is checked whole before anything runs (issue 18 item 5): every step gets a single start's checks,
platform ones included, and bindings are checked against the parameter types discovery knows."""

from __future__ import annotations

import requests

AGENT = "asst_echo00000000000000000000"


def _train(name: str) -> dict:
    return {"name": name, "jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline",
            "parameters": [{"name": "model_uri", "direction": "Output"}]}


def _agent(name: str, agent: str = AGENT, message: object = "hello") -> dict:
    return {"name": name, "jobType": "foundry_agent", "connection": "foundry-sim", "job": agent,
            "parameters": [{"name": "user_message", "direction": "Input", "value": message},
                           {"name": "response", "direction": "Output"}]}


def _post(stack, steps: list, chain_id: str | None = None) -> requests.Response:
    body = {"steps": steps} | ({"chainId": chain_id} if chain_id else {})
    return requests.post(f"{stack.api}/chains", json=body, timeout=30)


def _nothing_ran(stack) -> None:
    assert stack.host.store.query(limit=10) == []
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 0


def test_a_later_step_naming_an_agent_that_does_not_exist_is_400_before_anything_runs(stack):
    response = _post(stack, [_train("first"), _agent("second", agent="asst_nope000000000000000000")])
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == "steps[1].job"
    _nothing_ran(stack)


def test_a_later_steps_input_the_template_does_not_declare_is_400(stack):
    second = _train("second")
    second["parameters"].append({"name": "no_such_input", "direction": "Input", "value": "1"})
    response = _post(stack, [_train("first"), second])
    assert response.status_code == 400 and response.json()["error"]["field"] == "steps[1].parameters[1].name"
    _nothing_ran(stack)


def test_an_azure_ml_uri_bound_into_an_abacus_integer_is_400(stack):
    abacus = {"name": "retrain", "jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simtrain01",
              "parameters": [{"name": "epochs", "direction": "Input",
                              "value": {"from": "prepare", "output": "model_uri"}}]}
    response = _post(stack, [_train("prepare"), abacus])
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["field"] == "steps[1].parameters[0].value" and "INTEGER" in error["message"]
    _nothing_ran(stack)


def test_a_bound_message_counts_as_given_and_the_start_answer_has_its_created_at(stack):
    second = _agent("second", message={"from": "first", "output": "response"})
    response = _post(stack, [_agent("first"), second], chain_id="talk-2")
    assert response.status_code == 202, response.text
    assert response.json()["createdAt"]
    stack.host.wait_for("talk-2", 60)
    chain = requests.get(f"{stack.api}/chains/talk-2", timeout=10).json()
    assert chain["status"] == "Success", chain
    assert chain["steps"][1]["outputs"]["response"].startswith("You said: You said: hello")


def test_a_binding_onto_an_input_the_template_does_not_declare_is_400(stack):
    second = _train("second")
    second["parameters"].append({"name": "no_such_input", "direction": "Input",
                                 "value": {"from": "first", "output": "model_uri"}})
    response = _post(stack, [_train("first"), second])
    assert response.status_code == 400 and response.json()["error"]["field"] == "steps[1].parameters[1].name"
    _nothing_ran(stack)
