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

__all__ = [
    "ARGUMENT_TYPES",
    "COMPLETE",
    "DEFAULT_API_KEY",
    "DEFAULT_SKIPPED",
    "FAILED",
    "OUTPUT_TYPES",
    "PENDING",
    "PROJECT_ID",
    "RUNNING",
    "SEEDED",
    "SIMFAIL",
    "SIMTRAIN",
    "AbacusPlatform",
    "Answer",
    "Output",
    "PipelineSpec",
    "StepSpec",
    "create",
]
