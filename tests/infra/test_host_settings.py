"""host.json and local.settings.example.json: the values docs/operations.md explains, kept true.

host.json has no comments (JSON), so the reasons live in docs/operations.md "host.json"; these tests pin
what the reasons depend on: the Durable 1.x bundle range, the hub name devhost also reads, the activity
concurrency that keeps ARM reads under their refill rate, inputs and outputs kept out of traces, and
the identity-based storage connection the template writes.
"""

from __future__ import annotations

import json
import re

import pytest

from core.connections import read_connections
from devhost.triggers import timespan_seconds
from platforms.auth import LOCAL_CREDENTIAL_SETTING, is_loopback
from simulators.embedded import CATALOG
from simulators.registry import PLATFORMS

from .bicep import APP, MAIN, ROOT, parse

HOST = json.loads((ROOT / "host.json").read_text())
DURABLE = HOST["extensions"]["durableTask"]
EXAMPLE = json.loads((ROOT / "local.settings.example.json").read_text())

# reference/azureml-jobs.md §3.2: ARM refills a principal's subscription read bucket at 25 per second.
ARM_READ_REFILL_PER_SECOND = 25
# One activity slot holds one ARM call at a time; ARM calls to the ML provider take ~0.3 s or more, so a
# busy slot makes at most ~3 calls a second (docs/operations.md "Capacity").
ARM_CALLS_PER_SLOT_PER_SECOND = 3


def test_bundle_range_is_the_durable_1x_one():
    assert HOST["version"] == "2.0"
    assert HOST["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}


def test_route_prefix_and_hub_name_that_devhost_reads():
    assert HOST["extensions"]["http"]["routePrefix"] == "api"
    # Azure Storage task hub names: 3-45 letters and digits, starting with a letter.
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,44}", DURABLE["hubName"])


def _template_default(name: str) -> int:
    return parse(MAIN)["parameters"][name]["default"]


def test_activity_concurrency_keeps_arm_reads_under_the_refill_rate():
    slots = DURABLE["maxConcurrentActivityFunctions"] * _template_default("maximumInstanceCount")
    assert slots * ARM_CALLS_PER_SLOT_PER_SECOND <= ARM_READ_REFILL_PER_SECOND, (
        f"{slots} activity slots can make ~{slots * ARM_CALLS_PER_SLOT_PER_SECOND} ARM reads/s")
    assert 1 <= DURABLE["maxConcurrentOrchestratorFunctions"] <= 16


def test_http_concurrency_matches_the_flex_per_instance_setting():
    http = HOST["extensions"]["http"]
    assert http["maxConcurrentRequests"] == _template_default("httpPerInstanceConcurrency")
    assert http["maxOutstandingRequests"] > http["maxConcurrentRequests"]


def test_orchestration_inputs_and_outputs_stay_out_of_telemetry():
    assert DURABLE["tracing"]["traceInputsAndOutputs"] is False
    assert DURABLE["tracing"]["traceReplayEvents"] is False


def test_durable_storage_is_the_identity_based_host_storage_the_template_writes():
    provider = DURABLE["storageProvider"]
    assert provider["type"] == "AzureStorage"
    assert provider["connectionName"] == "AzureWebJobsStorage"
    assert "connectionStringName" not in provider
    assert "AzureWebJobsStorage__accountName" in APP.read_text()


def test_queue_retries_are_bounded_and_spaced():
    queues = HOST["extensions"]["queues"]
    assert 1 < queues["maxDequeueCount"] <= 10
    assert 10 <= timespan_seconds(queues["visibilityTimeout"], 0) <= 300
    assert queues["batchSize"] + queues["newBatchThreshold"] <= 16
    assert queues.get("messageEncoding", "base64") == "base64"  # what docs/operations.md tells producers


def test_logging_levels_keep_run_logs_and_drop_noise():
    levels = HOST["logging"]["logLevel"]
    assert levels["default"] in ("Warning", "Error")
    assert levels["Function"] == "Information"  # the app's own logs (Function.<name>.User)
    assert levels["Host.Triggers.DurableTask"] == "Information"  # orchestration lifecycle events
    sampling = HOST["logging"]["applicationInsights"]["samplingSettings"]
    assert {"Request", "Exception"} <= set(sampling["excludedTypes"].split(";"))


def test_function_timeout_is_bounded():
    assert 60 <= timespan_seconds(HOST["functionTimeout"], 0) <= 30 * 60


# ---- local.settings.example.json --------------------------------------------------------------------


def test_local_example_is_for_func_start_with_azurite():
    values = EXAMPLE["Values"]
    assert EXAMPLE["IsEncrypted"] is False
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values[LOCAL_CREDENTIAL_SETTING] == "1"
    note = values[f"_comment_{LOCAL_CREDENTIAL_SETTING}"].lower()
    assert "simulators only" in note and "never" in note
    assert "local.settings.json" in (ROOT / ".gitignore").read_text().split()


def test_local_example_connections_load_cleanly_and_reach_only_loopback():
    connections, problems = read_connections(EXAMPLE["Values"])
    assert problems == []
    assert {c.type.value for c in connections.values()} == {"azure_ml", "foundry_agents", "abacus"}
    for connection in connections.values():
        for key, value in connection.settings.items():
            if (key.endswith("Endpoint") or key == "endpoint") and key != "dashboardEndpoint":
                assert is_loopback(value), f"{connection.name}.{key} leaves the machine: {value}"


@pytest.mark.parametrize("platform", list(CATALOG))
def test_local_example_matches_the_simulator_catalog_on_default_ports(platform):
    name, settings_for = CATALOG[platform]
    expected = settings_for(f"http://127.0.0.1:{PLATFORMS[platform].default_port}")
    values = EXAMPLE["Values"]
    written = {k.split("__", 2)[2]: v for k, v in values.items() if k.startswith(f"CONNECTIONS__{name}__")}
    assert written == expected
