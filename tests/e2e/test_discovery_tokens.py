"""Discovery under a hostile caller: page tokens cannot be forged or moved between connections (issue 19
item 5), and one request's platform calls are bounded and describe calls cached (item 6)."""

from __future__ import annotations

import base64
import json

import requests

WORKSPACE = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sim-rg/providers/"
             "Microsoft.MachineLearningServices/workspaces/sim-ws")


def _old_style(token: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": token}).encode()).decode().rstrip("=")


def _jobs(stack, connection: str, **params) -> requests.Response:
    return requests.get(f"{stack.api}/connections/{connection}/jobs", params=params, timeout=30)


def test_a_forged_page_token_sends_nothing_anywhere(stack):
    before = stack.sim_stats("azure_ml")["requestsTotal"]
    for target in (f"{stack.sim('azure_ml')}{WORKSPACE}", f"{stack.sim('azure_ml')}{WORKSPACE}/computes/x",
                   f"{stack.sim('azure_ml')}/subscriptions?api-version=2022-12-01", f"{WORKSPACE}/jobs?x=1"):
        response = _jobs(stack, "azureml-sim", page=_old_style(target))
        assert response.status_code == 400 and response.json()["error"]["field"] == "page"
    assert stack.sim_stats("azure_ml")["requestsTotal"] == before  # the bearer token went nowhere


def test_a_token_works_only_on_the_connection_that_gave_it_and_unaltered(stack):
    first = _jobs(stack, "azureml-sim", pageSize=1).json()
    token = first["nextPage"]
    assert token and _jobs(stack, "azureml-sim", pageSize=1, page=token).status_code == 200
    assert _jobs(stack, "foundry-sim", page=token).status_code == 400
    payload, _, signature = token.partition(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    assert _jobs(stack, "azureml-sim", page=tampered).status_code == 400


def test_a_large_abacus_page_is_bounded_and_its_describes_cached(stack):
    for n in range(120):
        pipeline = {"pipelineId": f"extra{n:03d}", "pipelineName": f"extra {n}", "steps": [{"stepName": "s"}]}
        requests.post(f"{stack.sim('abacus')}/_sim/pipelines", timeout=10, json=pipeline).raise_for_status()
    before = stack.sim_stats("abacus")["requestsTotal"]
    first = _jobs(stack, "abacus-sim", pageSize=500)
    assert first.status_code == 200
    calls = stack.sim_stats("abacus")["requestsTotal"] - before
    assert calls <= 75, f"{calls} platform calls for one page"
    assert first.json()["nextPage"] and len(first.json()["jobs"]) >= 40
    before = stack.sim_stats("abacus")["requestsTotal"]
    again = _jobs(stack, "abacus-sim", pageSize=40)  # pipelines the first request described
    assert again.json()["jobs"] == first.json()["jobs"][:40]
    assert stack.sim_stats("abacus")["requestsTotal"] - before == 0  # list and describes come from the cache
