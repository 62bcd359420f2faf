"""Chain requests: bindings checked against earlier steps' outputs; resolution is pure."""

from __future__ import annotations

import pytest

from core.chains import binding_problem, parse_chain_request, resolve, step_run_id
from core.errors import ValidationError

KNOWN = {"ml": "azure_ml", "agents": "foundry_agents"}
TYPES = {"azureml_pipeline", "foundry_agent"}


def agent(name: str, **value) -> dict:
    thread = {"name": "thread_id", "direction": "InputOutput"}
    if value:
        thread["value"] = value
    return {"name": name, "jobType": "foundry_agent", "connection": "agents", "job": "asst_x",
            "parameters": [{"name": "user_message", "direction": "Input", "value": "hi"}, thread,
                           {"name": "response", "direction": "Output"}]}


def parse(steps, **extra):
    return parse_chain_request({"steps": steps, **extra}, known_job_types=TYPES, known_connections=KNOWN)


def test_a_binding_to_an_earlier_output_is_kept_and_its_value_left_out():
    chain = parse([agent("ask"), agent("follow", **{"from": "ask", "output": "thread_id"})], chainId="c1")
    follow = chain.steps[1]
    assert follow.bindings["thread_id"].step == "ask"
    assert next(p for p in follow.request.parameters if p.name == "thread_id").value is None
    assert chain.to_dict()["steps"][1]["bindings"] == {"thread_id": {"from": "ask", "output": "thread_id"}}


@pytest.mark.parametrize(("steps", "field"), [
    ([agent("a", **{"from": "b", "output": "thread_id"}), agent("b")], "steps[0].parameters[1].value"),
    ([agent("a"), agent("b", **{"from": "a", "output": "user_message"})], "steps[1].parameters[1].value"),
    ([agent("a"), agent("b", **{"from": "a"})], "steps[1].parameters[1].value"),
    ([agent("a"), agent("a")], "steps[1].name"),
    ([agent("bad name")], "steps[0].name"),
    ([{**agent("a"), "runId": "x"}], "steps[0].runId"),
    ([{**agent("a"), "connection": "zzz"}], "steps[0].connection"),
    ([], "steps"),
    ("nope", "steps"),
])
def test_bad_chains_name_the_field(steps, field):
    with pytest.raises(ValidationError) as caught:
        parse(steps)
    assert caught.value.field == field


def test_bad_chain_ids_and_fields():
    with pytest.raises(ValidationError) as caught:
        parse([agent("a")], chainId="../x")
    assert caught.value.field == "chainId"
    with pytest.raises(ValidationError) as caught:
        parse([agent("a")], extra=1)
    assert caught.value.field == "extra"


def test_resolve_fills_bound_values_from_the_earlier_runs():
    chain = parse([agent("ask"), agent("follow", **{"from": "ask", "output": "thread_id"})], chainId="c1")
    finished = {"ask": {"parameters": [{"name": "thread_id", "direction": "InputOutput", "value": "thread_9"}]}}
    request = resolve(chain.to_dict()["steps"][1], finished)
    values = {p["name"]: p.get("value") for p in request["parameters"]}
    assert values == {"user_message": "hi", "thread_id": "thread_9", "response": None}
    assert step_run_id("c1", "follow") == "c1-follow"


def test_resolve_falls_back_to_raw_outputs_and_leaves_missing_values_unset():
    chain = parse([agent("ask"), agent("follow", **{"from": "ask", "output": "thread_id"})], chainId="c1")
    step = chain.to_dict()["steps"][1]
    assert {p["name"]: p.get("value") for p in resolve(step, {"ask": {"outputs": {"thread_id": "t2"}}})[
        "parameters"]}["thread_id"] == "t2"
    missing = resolve(step, {"ask": {"outputs": {}}})
    assert "value" not in next(p for p in missing["parameters"] if p["name"] == "thread_id")


def test_a_binding_onto_an_output_parameter_is_refused():
    step = agent("b")
    step["parameters"][2] = {"name": "response", "direction": "Output", "value": {"from": "a", "output": "response"}}
    with pytest.raises(ValidationError) as caught:
        parse([agent("a"), step])
    assert caught.value.field == "steps[1].parameters[2].value"
    assert "Input" in caught.value.reason


@pytest.mark.parametrize(("output_type", "input_type", "fits"), [
    ("uri_folder", "INTEGER", False), ("uri_file", "FLOAT", False), ("mlflow_model", "boolean", False),
    ("INTEGER", "FLOAT", True), ("INTEGER", "BOOLEAN", False), ("JSON", "LIST", False),
    ("uri_folder", "DATASET_ID", True), ("uri_folder", "string", True), ("string", "INTEGER", True),
    ("ANY", "JSON", True), ("boolean", "BOOLEAN", True),
])
def test_a_binding_is_refused_only_when_no_value_of_the_output_type_can_fit_the_input(output_type, input_type, fits):
    assert (binding_problem(output_type, input_type) is None) is fits
