"""The private SDK part the app reads (starters/durable_private.py) is still where the app reads it."""

from __future__ import annotations

import json

import azure.durable_functions as df

from starters.durable_private import rpc_base_url


def test_the_rpc_endpoint_of_a_client_is_the_one_its_binding_names():
    binding = {"taskHubName": "hub", "creationUrls": {}, "managementUrls": {}, "baseUrl": "http://127.0.0.1:7071/x/",
               "requiredQueryStringParameters": "code=k", "rpcBaseUrl": "http://127.0.0.1:7071/durabletask/"}
    client = df.DurableOrchestrationClient(json.dumps(binding))
    assert rpc_base_url(client) == "http://127.0.0.1:7071/durabletask/"
