"""Azure ML simulator: the ARM Jobs API of workspace `sim-ws`, and RunHistory run details and child runs,
on one port.

Modules: `catalog` (workspace ids, seeded templates, the clone-to-template rule), `jobs` (a job and
its clock-driven status), `children` (a pipeline's child jobs, its steps, each with its own lifecycle),
`validation` (PUT rules), `wire` (error bodies, resource and run-details
shapes), `limits` (optional ARM token buckets), `workspace` (the read-only workspace and compute the
azure-ai-ml SDK also reads), `platform` (routes and handlers).
"""

from simulators.azure_ml.catalog import RESOURCE_GROUP, SUBSCRIPTION, TEMPLATES, WORKSPACE, WORKSPACE_ID
from simulators.azure_ml.platform import API_VERSIONS, FORBIDDEN_TOKEN, AzureMLPlatform, create

__all__ = [
    "API_VERSIONS",
    "FORBIDDEN_TOKEN",
    "RESOURCE_GROUP",
    "SUBSCRIPTION",
    "TEMPLATES",
    "WORKSPACE",
    "WORKSPACE_ID",
    "AzureMLPlatform",
    "create",
]
