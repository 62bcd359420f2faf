"""Azure ML simulator: the ARM Jobs API of workspace `sim-ws`, and RunHistory run details, on one port.

Modules: `catalog` (workspace ids, seeded templates, the clone-to-template rule), `jobs` (a job and
its clock-driven status), `validation` (PUT rules), `wire` (error bodies, resource and run-details
shapes), `limits` (optional ARM token buckets), `workspace` (the read-only workspace and compute the
azure-ai-ml SDK also reads), `platform` (routes and handlers).
"""

from simulators.azure_ml.catalog import REGION, RESOURCE_GROUP, SUBSCRIPTION, TEMPLATES, WORKSPACE, WORKSPACE_ID
from simulators.azure_ml.platform import API_VERSIONS, FORBIDDEN_TOKEN, AzureMLPlatform, create

# What devhost and the registry read (simulators/registry.py, simulators/embedded.py): the default port, a
# one-line summary, and the catalog connection (DESIGN.md "Simulator catalog") that reaches it.
DEFAULT_PORT = 7101
SUMMARY = "Azure ML workspace Jobs API (ARM) and RunHistory"
CONNECTION = "azureml-sim"


def connection_settings(url: str) -> dict[str, str]:
    """The settings of the catalog connection that reaches this simulator at `url`."""
    return {"type": "azure_ml", "subscriptionId": SUBSCRIPTION, "resourceGroup": RESOURCE_GROUP,
            "workspace": WORKSPACE, "region": REGION, "armEndpoint": url, "historyEndpoint": url}


__all__ = [
    "API_VERSIONS",
    "CONNECTION",
    "DEFAULT_PORT",
    "FORBIDDEN_TOKEN",
    "RESOURCE_GROUP",
    "SUBSCRIPTION",
    "SUMMARY",
    "TEMPLATES",
    "WORKSPACE",
    "WORKSPACE_ID",
    "AzureMLPlatform",
    "connection_settings",
    "create",
]
