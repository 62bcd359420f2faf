"""Abacus simulator, starting runs: runPipeline with typed pipelineVariableMappings (§4), a new version per
call, listPipelineVersions (§2, `limit`), and pipelines made through createPipeline/createPipelineStep/
updatePipeline (§2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulators.abacus import ARGUMENT_TYPES
from tests.simulators.test_abacus_api import Org, served


@pytest.fixture
def org(clock, http) -> Iterator[Org]:
    with served(clock, http) as org:
        yield org


def _values(version: dict[str, Any]) -> dict[str, Any]:
    return {m["name"]: m["value"] for m in version["pipelineVariableMappings"]}


def test_run_merges_sent_values_over_the_declared_ones_and_echoes_them(org):
    # the SDK's shape: isRequired true on every mapping, even optional ones (§6 gotcha 6)
    version = org.run(mappings=[{"name": "epochs", "variableType": "INTEGER", "value": 3, "isRequired": True}])
    assert _values(version) == {"learning_rate": 0.01, "epochs": 3, "dataset_id": None}
    echoed = {m["name"]: m for m in version["pipelineVariableMappings"]}
    assert echoed["dataset_id"]["isRequired"] is False  # the declared requiredness, not the sent one
    train = version["stepVersions"][1]
    assert {m["name"]: m["value"] for m in train["functionVariableMappings"]} == {"learning_rate": 0.01, "epochs": 3}


def test_every_run_is_a_new_version_even_with_identical_input(org):
    # checklist item 6 / §6 gotcha 2: runPipeline is not idempotent
    first, second = org.run(), org.run()
    assert first["pipelineVersion"] != second["pipelineVersion"]
    stats = org.stats()
    assert (stats["remoteJobsCreated"], stats["pipelineVersionsCreated"], stats["runningNow"]) == (2, 2, 2)
    assert stats["requestsByOperation"] == {"runPipeline": 2}


@pytest.mark.parametrize(
    ("name", "sent", "stored"),
    [
        ("learning_rate", 0.02, 0.02),
        ("learning_rate", "0.02", 0.02),  # a scheduler's string parameter
        ("learning_rate", 1, 1.0),
        ("learning_rate", "1e-3", 0.001),
        ("epochs", 5, 5),
        ("epochs", "5", 5),
        ("epochs", 5.0, 5),
        ("dataset_id", "dsabc12345", "dsabc12345"),
    ],
)
def test_typed_values_are_accepted_as_json_numbers_or_strings(org, name, sent, stored):
    version = org.run(mappings=[{"name": name, "value": sent}])
    assert _values(version)[name] == stored
    assert isinstance(_values(version)[name], type(stored))


@pytest.mark.parametrize(
    ("mapping", "error_type", "words"),
    [
        ({"name": "epochs", "value": "ten"}, "InvalidParameterError", "epochs"),
        ({"name": "epochs", "value": 1.5}, "InvalidParameterError", "INTEGER"),
        ({"name": "epochs", "value": True}, "InvalidParameterError", "epochs"),  # a boolean is no number
        ({"name": "learning_rate", "value": "fast"}, "InvalidParameterError", "FLOAT"),
        ({"name": "learning_rate", "value": [0.1]}, "InvalidParameterError", "learning_rate"),
        ({"name": "dataset_id", "value": 123}, "InvalidParameterError", "DATASET_ID"),
        ({"name": "dataset_id", "value": "  "}, "InvalidParameterError", "dataset_id"),
        ({"name": "batch_size", "value": 32}, "InvalidParameterError", "batch_size"),  # not declared
        ({"name": "epochs", "variableType": "FLOAT", "value": 5}, "InvalidParameterError", "INTEGER"),
        ({"name": "epochs", "variableType": "NUMBER", "value": 5}, "InvalidEnumParameterError", "NUMBER"),
        ({"value": 5}, "InvalidParameterError", "name"),
    ],
)
def test_wrong_variables_are_refused_400_and_start_nothing(org, mapping, error_type, words):
    response = org.post("runPipeline", pipelineId="simtrain01", pipelineVariableMappings=[mapping])
    body = org.refused(response, 400, error_type)
    assert words in body["error"]
    assert org.stats()["remoteJobsCreated"] == 0


def test_mappings_must_be_a_list_of_arguments_not_a_dict(org):
    response = org.post("runPipeline", pipelineId="simtrain01", pipelineVariableMappings={"epochs": 5})
    org.refused(response, 400, "InvalidParameterError")
    twice = [{"name": "epochs", "value": 1}, {"name": "epochs", "value": 2}]
    org.refused(
        org.post("runPipeline", pipelineId="simtrain01", pipelineVariableMappings=twice), 400, "InvalidParameterError"
    )


def test_type_names_match_case_insensitively(org):
    version = org.run(mappings=[{"name": "epochs", "variableType": "integer", "value": 7}])
    assert _values(version)["epochs"] == 7


def test_strict_types_take_only_json_native_values(clock, http):
    with served(clock, http, strict_types=True) as strict:
        strict.refused(
            strict.post(
                "runPipeline", pipelineId="simtrain01", pipelineVariableMappings=[{"name": "epochs", "value": "5"}]
            ),
            400,
            "InvalidParameterError",
        )
        assert _values(strict.run(mappings=[{"name": "learning_rate", "value": 0.5}]))["learning_rate"] == 0.5


def test_without_validation_anything_is_echoed(clock, http):
    with served(clock, http, validate_variables=False) as loose:
        version = loose.run(mappings=[{"name": "epochs", "value": "ten"}, {"name": "extra", "value": 1}])
        assert _values(version) == {"learning_rate": 0.01, "epochs": "ten", "dataset_id": None, "extra": 1}


def _all_types_pipeline(org: Org) -> str:
    """createPipeline + updatePipeline declaring one required variable of every type, without defaults."""
    pipeline = org.ok(org.post("createPipeline", pipelineName="all_types", projectId="simproject01"))
    pipeline_id = pipeline["pipelineId"]
    declared = [{"name": t.lower(), "variableType": t, "isRequired": True} for t in ARGUMENT_TYPES]
    updated = org.ok(org.call("PATCH", "updatePipeline", pipelineId=pipeline_id, pipelineVariableMappings=declared))
    assert [v["variableType"] for v in updated["pipelineVariableMappings"]] == list(ARGUMENT_TYPES)
    return pipeline_id


GOOD = {
    "FEATURE_GROUP": "sales_table",
    "INTEGER": "12",
    "STRING": 12,  # lenient: a number becomes its text
    "BOOLEAN": "TRUE",
    "FLOAT": "2.5",
    "JSON": '{"a": 1}',
    "LIST": [1, "two"],
    "DATASET_ID": "ds01",
    "MODEL_ID": "m01",
    "FEATURE_GROUP_ID": "fg01",
    "MONITOR_ID": "mon01",
    "BATCH_PREDICTION_ID": "bp01",
    "DEPLOYMENT_ID": "dep01",
    "ATTACHMENT": "report.pdf",
}
STORED = {**GOOD, "INTEGER": 12, "STRING": "12", "BOOLEAN": True, "FLOAT": 2.5, "JSON": {"a": 1}}
BAD = {"INTEGER": "1.5", "BOOLEAN": 1, "FLOAT": "nan", "JSON": "[1]", "LIST": "{}", "STRING": {"a": 1}, "MODEL_ID": ""}


def test_every_argument_type_is_accepted_and_stored_typed(org):
    pipeline_id = _all_types_pipeline(org)
    mappings = [{"name": t.lower(), "variableType": t, "value": GOOD[t]} for t in ARGUMENT_TYPES]
    version = org.run(pipeline_id, mappings)
    assert _values(version) == {t.lower(): STORED[t] for t in ARGUMENT_TYPES}


@pytest.mark.parametrize("variable_type", sorted(BAD))
def test_each_type_refuses_a_wrong_value(org, variable_type):
    pipeline_id = _all_types_pipeline(org)
    mappings = [{"name": t.lower(), "value": BAD[t] if t == variable_type else GOOD[t]} for t in ARGUMENT_TYPES]
    body = org.refused(
        org.post("runPipeline", pipelineId=pipeline_id, pipelineVariableMappings=mappings), 400, "InvalidParameterError"
    )
    assert variable_type in body["error"]


def test_a_required_variable_without_value_or_default_is_400_missing_parameter(org):
    pipeline_id = _all_types_pipeline(org)
    mappings = [{"name": t.lower(), "value": GOOD[t]} for t in ARGUMENT_TYPES if t != "DEPLOYMENT_ID"]
    body = org.refused(
        org.post("runPipeline", pipelineId=pipeline_id, pipelineVariableMappings=mappings), 400, "MissingParameterError"
    )
    assert "deployment_id" in body["error"]
    explicit_null = [*mappings, {"name": "deployment_id", "value": None}]
    org.refused(
        org.post("runPipeline", pipelineId=pipeline_id, pipelineVariableMappings=explicit_null),
        400,
        "MissingParameterError",
    )


def test_list_pipeline_versions_is_newest_first_and_limited(org, clock):
    seeded = org.ok(org.post("listPipelineVersions", pipelineId="simtrain01"))
    assert [v["status"] for v in seeded] == ["COMPLETE"]  # the seeded run of yesterday
    made = []
    for _ in range(3):
        made.append(org.run()["pipelineVersion"])
        clock.advance(1)
    listed = org.ok(org.post("listPipelineVersions", pipelineId="simtrain01", limit=200))
    assert [v["pipelineVersion"] for v in listed] == [*reversed(made), seeded[0]["pipelineVersion"]]
    two = org.ok(org.post("listPipelineVersions", pipelineId="simtrain01", limit=2))
    assert [v["pipelineVersion"] for v in two] == [made[2], made[1]]
    assert len(org.ok(org.post("listPipelineVersions", pipelineId="simtrain01", limit="1"))) == 1
    for bad in (0, -1, "many", 2.5, True):
        org.refused(org.post("listPipelineVersions", pipelineId="simtrain01", limit=bad), 400, "InvalidParameterError")
    assert org.ok(org.post("listPipelineVersions", pipelineId="simfail01"))[0]["status"] == "FAILED"


def test_pipelines_made_through_the_api_run_their_steps(org, clock):
    pipeline_id = org.ok(org.post("createPipeline", pipelineName="etl", cron=None, isProd=None))["pipelineId"]
    org.refused(org.post("createPipeline", pipelineName="etl"), 409, "AlreadyExistsError")
    org.refused(org.post("createPipeline", pipelineName="other", projectId="nope"), 404, "DataNotFoundError")
    step = {"pipelineId": pipeline_id, "functionName": "extract", "sourceCode": "def extract(): pass"}
    org.ok(org.post("createPipelineStep", stepName="extract", **step))
    org.refused(org.post("createPipelineStep", stepName="extract", **step), 409, "AlreadyExistsError")
    org.refused(
        org.post("createPipelineStep", stepName="x", stepDependencies=["nope"], **step), 400, "InvalidParameterError"
    )
    org.refused(org.post("createPipelineStep", stepName="x", cpuSize="huge", **step), 400, "InvalidEnumParameterError")
    outputs = [{"name": "rows", "variableType": "INTEGER"}]
    pipeline = org.ok(
        org.post(
            "createPipelineStep",
            stepName="load",
            stepDependencies=["extract"],
            outputVariableMappings=outputs,
            memory=32,
            **step,
        )
    )
    assert [(s["stepName"], s["stepDependencies"], s["memory"]) for s in pipeline["steps"]] == [
        ("extract", [], 16),
        ("load", ["extract"], 32),
    ]
    version = org.run(pipeline_id)["pipelineVersion"]
    clock.advance(60 + 60)  # PENDING 60 s, extract 60 s
    assert org.steps(version) == {"extract": "COMPLETE", "load": "RUNNING"}
    clock.advance(60)
    done = org.version(version)
    assert done["status"] == "COMPLETE"
    rows = done["stepVersions"][1]["outputVariableMappings"][0]
    assert rows["name"] == "rows" and isinstance(rows["value"], int)
    renamed = org.ok(org.call("PATCH", "renamePipeline", pipelineId=pipeline_id, pipelineName="etl2"))
    assert renamed["pipelineName"] == "etl2"
    assert org.ok(org.call("DELETE", "deletePipeline", pipelineId=pipeline_id)) is None
    org.refused(org.get("describePipelineVersion", pipelineVersion=version), 404, "DataNotFoundError")
