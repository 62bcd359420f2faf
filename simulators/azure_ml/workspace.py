"""Read-only ARM resources around the jobs, served so that azure-ai-ml's `MLClient` works unchanged.

azureml-jobs.md documents only the Jobs operations. `MLClient.jobs.get/list/create_or_update/
begin_cancel` also read the workspace (`workspaces.get`) and the compute a pipeline names
(`computes.get`, before a PUT). The workspace's `discoveryUrl` points at a discovery document the
simulator serves too (`/discovery`: every data-plane service is the simulator). The reference is
silent on these bodies, so they are **invented**: the ARM envelope of its §2 (`id`, `name`, `type`,
`properties`, `systemData`) with a small set of properties named as in the public ARM schemas of
Workspace and ComputeResource (AmlCompute). Nothing here can be written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from simulators.azure_ml.catalog import REGION, RESOURCE_GROUP, SUBSCRIPTION, TENANT, WORKSPACE, WORKSPACE_ID
from simulators.azure_ml.wire import wire_time

COMPUTES = ("cpu-cluster",)
"""The computes of the workspace: the one the templates run on (catalog.COMPUTE_ID)."""

STORAGE_ACCOUNT = "simstorage"
DISCOVERY_PATH = "/discovery"
"""Where the workspace's `discoveryUrl` points: the simulator itself (the service-endpoint map)."""


def _system(created: datetime) -> dict[str, Any]:
    return {
        "createdAt": wire_time(created),
        "createdBy": "sim-admin",
        "createdByType": "User",
        "lastModifiedAt": wire_time(created),
        "lastModifiedBy": "sim-admin",
        "lastModifiedByType": "User",
    }


def workspace_resource(base_url: str, created: datetime) -> dict[str, Any]:
    """`GET {WS}`: a Workspace with its discoveryUrl pointing back at the simulator."""
    arm = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers"
    return {
        "id": WORKSPACE_ID,
        "name": WORKSPACE,
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": REGION,
        "kind": "Default",
        "tags": {},
        "identity": {
            "type": "SystemAssigned",
            "principalId": str(uuid.UUID(int=0x5EED)),
            "tenantId": TENANT,
        },
        "sku": {"name": "Basic", "tier": "Basic"},
        "properties": {
            "workspaceId": str(uuid.uuid5(uuid.NAMESPACE_URL, WORKSPACE_ID)),
            "friendlyName": WORKSPACE,
            "description": "The simulated workspace.",
            "provisioningState": "Succeeded",
            "discoveryUrl": base_url + DISCOVERY_PATH,
            "mlFlowTrackingUri": f"azureml://{REGION}.api.azureml.ms/mlflow/v1.0{WORKSPACE_ID}",
            "storageAccount": f"{arm}/Microsoft.Storage/storageAccounts/{STORAGE_ACCOUNT}",
            "keyVault": f"{arm}/Microsoft.KeyVault/vaults/simkeyvault",
            "applicationInsights": f"{arm}/Microsoft.insights/components/siminsights",
            "hbiWorkspace": False,
            "publicNetworkAccess": "Enabled",
            "tenantId": TENANT,
        },
        "systemData": _system(created),
    }


def discovery(base_url: str) -> dict[str, str]:
    """The discovery document: every data-plane service (run history among them) is the simulator."""
    keys = (
        "api",
        "catalog",
        "experimentation",
        "gallery",
        "history",
        "hyperdrive",
        "labeling",
        "modelmanagement",
        "pipelines",
        "studio",
    )
    return {key: base_url for key in keys}


def compute_resource(name: str, created: datetime) -> dict[str, Any]:
    """`GET {WS}/computes/{name}`: an AmlCompute cluster that scales to zero."""
    return {
        "id": f"{WORKSPACE_ID}/computes/{name}",
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/computes",
        "location": REGION,
        "tags": {},
        "identity": None,
        "sku": None,
        "properties": {
            "computeType": "AmlCompute",
            "computeLocation": REGION,
            "provisioningState": "Succeeded",
            "description": None,
            "createdOn": wire_time(created),
            "modifiedOn": wire_time(created),
            "disableLocalAuth": True,
            "isAttachedCompute": False,
            "properties": {
                "osType": "Linux",
                "vmSize": "STANDARD_DS3_V2",
                "vmPriority": "Dedicated",
                "scaleSettings": {"maxNodeCount": 4, "minNodeCount": 0, "nodeIdleTimeBeforeScaleDown": "PT2M"},
                "remoteLoginPortPublicAccess": "Disabled",
                "allocationState": "Steady",
                "currentNodeCount": 0,
                "targetNodeCount": 0,
                "nodeStateCounts": {
                    "idleNodeCount": 0,
                    "runningNodeCount": 0,
                    "preparingNodeCount": 0,
                    "unusableNodeCount": 0,
                    "leavingNodeCount": 0,
                    "preemptedNodeCount": 0,
                },
            },
        },
        "systemData": _system(created),
    }
