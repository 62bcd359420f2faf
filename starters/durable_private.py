"""The one place the app reads a private part of the Durable SDK, and why.

The task hub's instance list comes in pages (continuation token in a header); the SDK's get_status_by
reads the first page only (durable-functions.md §4), so `starters.start.list_instances` pages through the
host's RPC endpoint itself. The SDK exposes that endpoint only as `client._orchestration_bindings.rpc_base_url`
(the `rpcBaseUrl` of the client binding the host hands the function). tests/e2e/test_durable_private.py fails
if the SDK renames or moves it.
"""

from __future__ import annotations

import azure.durable_functions as df


def rpc_base_url(client: df.DurableOrchestrationClient) -> str:
    """The host's Durable RPC endpoint for this client (ends with '/')."""
    return str(client._orchestration_bindings.rpc_base_url)
