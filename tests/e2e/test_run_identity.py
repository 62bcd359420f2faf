"""One runId is one run (issue 18 item 4): a start is atomic, never replaces a finished run, and runs and
chains never take each other's ids."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from .conftest import train_request

DUPLICATES = 50


def _chain(stack, chain_id: str, *step_names: str) -> requests.Response:
    steps = [{"name": name, "jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline",
              "parameters": [{"name": "model_uri", "direction": "Output"}]} for name in step_names]
    return requests.post(f"{stack.api}/chains", json={"chainId": chain_id, "steps": steps}, timeout=30)


def _error(response: requests.Response) -> dict:
    return response.json()["error"]


def test_fifty_concurrent_starts_of_one_run_id_make_one_run(stack):
    # Half ask for the same run, half for a different one under the same id: exactly one start creates
    # the run; the others see it (200, same request) or are refused (409, different request).
    bodies = [train_request("dup-1") if i % 2 == 0 else
              train_request("dup-1", parameters=[{"name": "learning_rate", "value": str(i), "direction": "Input"}])
              for i in range(DUPLICATES)]
    with ThreadPoolExecutor(DUPLICATES) as pool:
        answers = list(pool.map(stack.post_run, bodies))
    created = [i for i, a in enumerate(answers) if a.status_code == 202]
    assert len(created) == 1, [a.status_code for a in answers]
    winner = bodies[created[0]]
    for body, answer in zip(bodies, answers, strict=True):
        if answer.status_code == 202:
            continue
        same = body == winner
        assert answer.status_code == (200 if same else 409), (answer.status_code, answer.text)
        if same:
            assert answer.json()["parameters"][0] == winner["parameters"][0]
    run = stack.wait_run("dup-1")
    assert run["status"] == "Success" and run["parameters"][0]["value"] == winner["parameters"][0]["value"]
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1


def test_a_finished_run_is_never_replaced_by_a_start(stack):
    assert stack.post_run(train_request("done-1")).status_code == 202
    finished = stack.wait_run("done-1")
    other = stack.post_run(train_request("done-1", job="failing-pipeline", parameters=[]))
    assert other.status_code == 409 and _error(other)["field"] == "runId"
    assert stack.get_run("done-1") == finished
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1


def test_a_chain_never_takes_a_runs_id(stack):
    assert stack.post_run(train_request("x")).status_code == 202
    finished = stack.wait_run("x")
    refused = _chain(stack, "x", "a")
    assert refused.status_code == 409 and _error(refused)["field"] == "chainId"
    assert stack.get_run("x") == finished
    assert requests.get(f"{stack.api}/chains/x", timeout=10).status_code == 404


def test_a_chain_step_never_overwrites_a_run(stack):
    assert stack.post_run(train_request("vic-step1")).status_code == 202
    finished = stack.wait_run("vic-step1")
    refused = _chain(stack, "vic", "step0", "step1")
    assert refused.status_code == 409 and _error(refused)["field"] == "steps[1].name"
    assert stack.get_run("vic-step1") == finished
    assert stack.host.get("vic") is None


def test_a_run_never_takes_a_chains_id_nor_one_of_its_steps(stack):
    assert _chain(stack, "ch", "first", "second").status_code == 202
    stack.host.wait_for("ch", 60)
    chain = requests.get(f"{stack.api}/chains/ch", timeout=10).json()
    assert chain["status"] == "Success"
    refused = stack.post_run(train_request("ch"))
    assert refused.status_code == 409 and _error(refused)["field"] == "runId"
    # A chain's step run ids are its own, also before the step has run.
    live = _chain(stack, "later", "first", "second")
    assert live.status_code == 202
    refused = stack.post_run(train_request("later-second"))
    assert refused.status_code == 409 and _error(refused)["field"] == "runId"
    refused = _chain(stack, "later-second", "x")
    assert refused.status_code == 409 and _error(refused)["field"] == "chainId"
    stack.host.wait_for("later", 60)
    assert requests.get(f"{stack.api}/chains/ch", timeout=10).json() == chain
    assert requests.get(f"{stack.api}/chains/later", timeout=10).json()["status"] == "Success"


def test_concurrent_starts_of_one_chain_id_make_one_chain_and_a_concurrent_run_of_that_id_none(stack):
    def start(i: int) -> requests.Response:
        if i % 5 == 4:  # a run racing for the chain's id
            return stack.post_run(train_request("race"))
        return _chain(stack, "race", "a", "b") if i % 2 == 0 else _chain(stack, "race", "other")

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(start, range(20)))
    created = [a for a in answers if a.status_code == 202]
    assert len(created) == 1, [a.status_code for a in answers]
    assert all(a.status_code in (200, 409) for a in answers if a is not created[0])
    kind = stack.host.get("race").name
    stack.host.wait_for("race", 60)
    if kind == "run_chain":
        assert requests.get(f"{stack.api}/chains/race", timeout=10).json()["status"] == "Success"
    else:
        assert stack.get_run("race")["status"] == "Success"
