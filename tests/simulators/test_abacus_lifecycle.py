"""Abacus simulator on a virtual clock: version and step lifecycles (§3), outputs (§5), the skip "stop"
(§2 skipPendingPipelineVersionSteps), resetPipelineVersion, logs, pinned statuses, stats and reset.

Time moves only by `clock.advance` (DESIGN.md "Clocks"): a 16-minute pipeline runs in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.simulators.test_abacus_api import HEX_ID, Org, served


@pytest.fixture
def org(clock, http) -> Iterator[Org]:
    with served(clock, http) as org:
        yield org


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_simtrain_goes_pending_running_complete_step_by_step(org, clock):
    created = clock.now()
    version = org.run()["pipelineVersion"]
    seen = []
    # PENDING 60 s, then prepare_data 120 s, train_model 600 s, evaluate_model 180 s (DESIGN: ~15 min running)
    for offset in (0, 59, 60, 179, 180, 779, 780, 959, 960):
        clock.advance_to(created + timedelta(seconds=offset))
        seen.append((org.status(version), tuple(org.steps(version).values())))
    P, R, C = "PENDING", "RUNNING", "COMPLETE"
    assert seen == [
        (P, (P, P, P)),
        (P, (P, P, P)),
        (R, (R, P, P)),
        (R, (R, P, P)),
        (R, (C, R, P)),
        (R, (C, R, P)),
        (R, (C, C, R)),
        (R, (C, C, R)),
        (C, (C, C, C)),
    ]
    done = org.version(version)
    assert _time(done["completedAt"]) == _time(done["updatedAt"]) == created + timedelta(seconds=960)
    assert done["error"] is None


def test_completed_version_carries_the_model_id_output_and_a_reference(org, clock):
    version = org.run()["pipelineVersion"]
    clock.advance(300)
    train = org.version(version)["stepVersions"][1]
    assert train["outputVariableMappings"] == [
        {"name": "model_id", "variableType": "MODEL_ID", "description": "The trained model.", "value": None}
    ]
    assert train["pipelineStepVersionReferences"] == []
    clock.advance(600)
    train = org.version(version)["stepVersions"][1]
    model_id = train["outputVariableMappings"][0]["value"]
    assert HEX_ID.match(model_id)
    (reference,) = train["pipelineStepVersionReferences"]
    assert (reference["objectType"], reference["status"]) == ("MODEL_VERSION", "COMPLETE")
    assert HEX_ID.match(reference["modelVersion"])
    assert _time(train["updatedAt"]) == _time(train["createdAt"]) + timedelta(seconds=60 + 120 + 600)


def test_simfail_fails_at_its_second_step_with_a_step_error(org, clock):
    version = org.run("simfail01")["pipelineVersion"]
    clock.advance(60 + 60)
    assert org.steps(version) == {"load_data": "COMPLETE", "train_model": "RUNNING", "evaluate_model": "PENDING"}
    clock.advance(179)
    assert org.status(version) == "RUNNING"
    clock.advance(1)
    failed = org.version(version)
    assert failed["status"] == "FAILED"
    assert _time(failed["completedAt"]) == clock.now()
    assert failed["error"].startswith("Pipeline step train_model failed: ")
    load, train, evaluate = failed["stepVersions"]
    assert (load["status"], load["error"]) == ("COMPLETE", None)
    assert train["status"] == "FAILED"
    assert "ValueError: loss became NaN" in train["error"]
    assert "model_id" in train["outputErrors"]
    assert train["outputVariableMappings"][0]["value"] is None
    # a step whose dependency failed never runs (rule chosen: it ends SKIPPED when the failure happens)
    assert (evaluate["status"], evaluate["error"]) == ("SKIPPED", None)
    clock.advance(3600)
    assert org.status(version) == "FAILED"


def test_skip_lets_the_running_step_finish_and_skips_the_pending_ones(org, clock):
    version = org.run()["pipelineVersion"]
    clock.advance(60 + 120 + 100)  # train_model has run 100 s of 600
    skipped = org.ok(org.post("skipPendingPipelineVersionSteps", pipelineVersion=version))
    assert skipped["status"] == "RUNNING"
    assert [s["status"] for s in skipped["stepVersions"]] == ["COMPLETE", "RUNNING", "SKIPPED"]
    assert org.stats()["runningNow"] == 1
    clock.advance(499)
    assert org.status(version) == "RUNNING"
    clock.advance(1)
    done = org.version(version)
    assert [s["status"] for s in done["stepVersions"]] == ["COMPLETE", "COMPLETE", "SKIPPED"]
    assert done["status"] == "SKIPPED"  # not COMPLETE: the pipeline did not do all its work
    assert done["completedAt"] is not None and done["error"] is None
    assert org.stats()["runningNow"] == 0


def test_skip_while_pending_ends_the_version_at_once(org, clock):
    version = org.run()["pipelineVersion"]
    clock.advance(30)
    skipped = org.ok(org.post("skipPendingPipelineVersionSteps", pipelineVersion=version))
    assert skipped["status"] == "SKIPPED"
    assert {s["status"] for s in skipped["stepVersions"]} == {"SKIPPED"}
    assert _time(skipped["completedAt"]) == clock.now()
    clock.advance(3600)
    assert org.status(version) == "SKIPPED"


def test_skip_cannot_stop_a_running_step_from_failing(org, clock):
    version = org.run("simfail01")["pipelineVersion"]
    clock.advance(60 + 60 + 10)
    org.ok(org.post("skipPendingPipelineVersionSteps", pipelineVersion=version))
    clock.advance(170)
    assert org.status(version) == "FAILED"
    assert org.steps(version)["evaluate_model"] == "SKIPPED"


def test_skip_on_a_finished_version_changes_nothing(org, clock):
    version = org.run()["pipelineVersion"]
    clock.advance(960)
    before = org.version(version)
    assert org.ok(org.post("skipPendingPipelineVersionSteps", pipelineVersion=version)) == before
    assert org.stats()["skipsRequested"] == 1


def test_the_skipped_status_string_is_configurable(clock, http):
    with served(clock, http, skipped_status="CANCELLED") as other:
        version = other.run()["pipelineVersion"]
        assert other.ok(other.post("skipPendingPipelineVersionSteps", pipelineVersion=version))["status"] == "CANCELLED"


def test_reset_reruns_a_failed_step_and_its_downstream_steps(org, clock):
    version = org.run("simfail01")["pipelineVersion"]
    clock.advance(30)
    org.refused(org.post("resetPipelineVersion", pipelineVersion=version, steps=["train_model"]), 409, "ConflictError")
    clock.advance(300)
    before = org.version(version)
    assert before["status"] == "FAILED"
    ids = [s["pipelineStepVersion"] for s in before["stepVersions"]]
    reset = org.ok(
        org.post("resetPipelineVersion", pipelineVersion=version, steps=["train_model"], includeDownstreamSteps=None)
    )
    assert reset["status"] == "PENDING" and reset["completedAt"] is None
    assert [s["status"] for s in reset["stepVersions"]] == ["COMPLETE", "PENDING", "PENDING"]
    assert [s["pipelineStepVersion"] for s in reset["stepVersions"]] == ids  # re-run in place
    clock.advance(60)
    assert org.steps(version) == {"load_data": "COMPLETE", "train_model": "RUNNING", "evaluate_model": "PENDING"}
    clock.advance(180)
    assert org.status(version) == "FAILED"  # same behaviour as before
    org.refused(org.post("resetPipelineVersion", pipelineVersion=version, steps=["nope"]), 400, "InvalidParameterError")
    only = org.ok(
        org.post("resetPipelineVersion", pipelineVersion=version, steps=["load_data"], includeDownstreamSteps=False)
    )
    assert [s["status"] for s in only["stepVersions"]] == ["PENDING", "FAILED", "SKIPPED"]
    assert org.stats()["resetsRequested"] == 2


def test_logs_follow_the_steps(org, clock):
    version = org.run(mappings=[{"name": "epochs", "value": 4}])["pipelineVersion"]
    logs = org.ok(org.get("listPipelineVersionLogs", pipelineVersion=version))["stepLogs"]
    assert [entry["logs"] for entry in logs] == ["", "", ""]
    clock.advance(60 + 120 + 600)
    logs = org.ok(org.get("listPipelineVersionLogs", pipelineVersion=version))["stepLogs"]
    train = logs[1]
    assert train["stepName"] == "train_model"
    assert "epochs = 4" in train["logs"] and "output model_id" in train["logs"]
    one = org.ok(org.get("getStepVersionLogs", pipelineStepVersion=train["pipelineStepVersion"]))
    assert one == train
    failing = org.run("simfail01")["pipelineVersion"]
    clock.advance(300)
    failed_logs = org.ok(org.get("listPipelineVersionLogs", pipelineVersion=failing))["stepLogs"][1]["logs"]
    assert "Traceback" in failed_logs


def test_a_pinned_status_can_be_any_string_and_expires(org, clock):
    # checklist item 7: an unknown terminal status string a client must survive
    version = org.run()["pipelineVersion"]
    pinned = org.sim("POST", f"versions/{version}/status", json={"status": "TIMEOUT", "seconds": 60}).json()
    assert pinned == {"pipelineVersion": version, "status": "TIMEOUT"}
    assert org.status(version) == "TIMEOUT"
    assert org.stats()["runningNow"] == 0  # only PENDING and RUNNING are active (§3)
    clock.advance(60)
    assert org.status(version) == "RUNNING"
    org.sim("POST", f"versions/{version}/status", json={"status": "CANCELLED"})
    clock.advance(3600)
    assert org.status(version) == "CANCELLED"
    org.sim("POST", f"versions/{version}/status", json={"status": None})
    assert org.status(version) == "COMPLETE"
    assert org.sim("POST", "versions/nope/status", json={"status": "X"}).status_code == 404


def test_scripted_pipelines_run_parallel_steps(org, clock):
    spec = {
        "pipelineId": "simpar01",
        "pipelineName": "sim_parallel",
        "pendingSeconds": 5,
        "pipelineVariableMappings": [{"name": "n", "variableType": "INTEGER", "value": 1}],
        "steps": [
            {"stepName": "a", "seconds": 10},
            {"stepName": "b", "seconds": 30},
            {
                "stepName": "c",
                "seconds": 5,
                "stepDependencies": ["a", "b"],
                "outputVariableMappings": [{"name": "answer", "variableType": "STRING", "value": "42"}],
            },
        ],
    }
    assert org.sim("POST", "pipelines", json=spec).json()["pipelineId"] == "simpar01"
    assert org.sim("POST", "pipelines", json=spec).status_code == 400  # the id is taken
    assert org.sim("POST", "pipelines", json={"pipelineId": "x"}).status_code == 400
    version = org.run("simpar01")["pipelineVersion"]
    clock.advance(5 + 10)
    assert org.steps(version) == {"a": "COMPLETE", "b": "RUNNING", "c": "PENDING"}
    clock.advance(20)
    assert org.steps(version) == {"a": "COMPLETE", "b": "COMPLETE", "c": "RUNNING"}
    clock.advance(5)
    done = org.version(version)
    assert done["status"] == "COMPLETE"
    assert done["stepVersions"][2]["outputVariableMappings"][0]["value"] == "42"


def test_stats_count_created_and_running_versions_and_reset_restores_the_catalog(org, clock):
    first = org.run()["pipelineVersion"]
    org.run("simfail01")
    stats = org.stats()
    assert (stats["remoteJobsCreated"], stats["runningNow"], stats["pipelineVersions"]) == (2, 2, 4)
    clock.advance(300)
    assert org.stats()["runningNow"] == 1
    assert org.stats()["versionsByStatus"] == {"COMPLETE": 1, "FAILED": 2, "RUNNING": 1}
    reset = org.sim("POST", "reset").json()
    assert (reset["remoteJobsCreated"], reset["runningNow"], reset["pipelineVersions"]) == (0, 0, 2)
    assert reset["requestsByOperation"] == {}
    org.refused(org.get("describePipelineVersion", pipelineVersion=first), 404, "DataNotFoundError")
