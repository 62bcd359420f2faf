"""Abacus.AI simulator: the REST API v0 pipeline methods (`/api/v0/<method>`) of organisation `sim-org`.

Faithful to /work/shared/reference/abacus-pipelines.md. Modules: `wire` (envelopes, errorTypes, ids,
times), `variables` (typed pipeline variables and their validation), `catalog` (the seeded pipelines
`simtrain01` and `simfail01`, step behaviour), `versions` (pipeline versions and step versions on the
clock, skip and reset), `resources` (the JSON objects), `platform` (routes, apiKey auth, handlers, /_sim).
"""

from simulators.abacus.catalog import PROJECT_ID, SEEDED, SIMFAIL, SIMTRAIN, Output, PipelineSpec, StepSpec
from simulators.abacus.platform import DEFAULT_API_KEY, AbacusPlatform, Answer, create
from simulators.abacus.variables import ARGUMENT_TYPES, OUTPUT_TYPES
from simulators.abacus.versions import COMPLETE, DEFAULT_SKIPPED, FAILED, PENDING, RUNNING

# What devhost and the registry read (simulators/registry.py, simulators/embedded.py): the default port, a
# one-line summary, and the catalog connection (DESIGN.md "Simulator catalog") that reaches it.
DEFAULT_PORT = 7103
SUMMARY = "Abacus.AI REST API v0 pipelines"
CONNECTION = "abacus-sim"


SIM_API_KEY = "sim-abacus-key"


def connection_settings(url: str) -> dict[str, str]:
    """The settings of the catalog connection that reaches this simulator at `url`."""
    return {"type": "abacus", "endpoint": url, "apiKey": SIM_API_KEY}


__all__ = [
    "ARGUMENT_TYPES",
    "COMPLETE",
    "CONNECTION",
    "DEFAULT_API_KEY",
    "DEFAULT_PORT",
    "DEFAULT_SKIPPED",
    "FAILED",
    "OUTPUT_TYPES",
    "PENDING",
    "PROJECT_ID",
    "RUNNING",
    "SEEDED",
    "SIMFAIL",
    "SIMTRAIN",
    "SUMMARY",
    "AbacusPlatform",
    "Answer",
    "Output",
    "PipelineSpec",
    "StepSpec",
    "connection_settings",
    "create",
]
