"""Azure ML simulator on a virtual clock: lifecycles, RunHistory, cancel LRO, stats and reset.

Time moves only by `clock.advance`: a six-hour job runs in milliseconds (DESIGN.md "Clocks").
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text[:26] + text[27:])  # 7 fractional digits: drop the last one


def test_train_clone_goes_queued_running_completed_with_output_values(ws, clock):
    created = clock.now()
    assert ws.clone("train-pipeline", "train-1", learning_rate="0.02").status_code == 201
    seen = []
    for seconds in (0, 10, 20, 60, 140, 600, 1340, 1360):  # offsets from creation
        clock.advance_to(created + timedelta(seconds=seconds))
        seen.append(ws.status("train-1"))
    assert seen == [
        "NotStarted",
        "Starting",
        "Queued",
        "Queued",
        "Running",
        "Running",
        "Finalizing",
        "Completed",
    ]
    outputs = ws.get("train-1").json()["properties"]["outputs"]
    assert (
        outputs["model_uri"]["uri"]
        == "azureml://datastores/workspaceblobstore/paths/azureml/train-1/model_uri/"
    )
    assert outputs["accuracy"]["uri"].endswith("/train-1/accuracy/accuracy.json")


def test_run_history_gives_start_and_end_times(ws, clock):
    created = clock.now()
    ws.clone("train-pipeline", "train-2")
    queued = ws.details("train-2").json()
    assert (queued["status"], queued["startTimeUtc"], queued["endTimeUtc"]) == ("NotStarted", None, None)
    assert _parse(queued["createdTimeUtc"]) == created
    clock.advance(1400)
    done = ws.details("train-2").json()
    assert done["status"] == "Completed"
    assert _parse(done["startTimeUtc"]) == created + timedelta(seconds=140)
    assert _parse(done["endTimeUtc"]) == created + timedelta(seconds=1360)
    assert done["error"] is None


def test_failing_clone_runs_five_minutes_then_fails_with_a_step_error(ws, clock):
    ws.clone("failing-pipeline", "fail-1")
    clock.advance(30)  # NotStarted 10 s, Queued 20 s
    assert ws.status("fail-1") == "Running"
    clock.advance(299)
    assert ws.status("fail-1") == "Running"
    clock.advance(1)
    assert ws.status("fail-1") == "Failed"
    assert "error" not in ws.get("fail-1").json()["properties"]  # §2.7: only RunHistory has it
    details = ws.details("fail-1").json()
    assert details["status"] == "Failed"
    # the seeds: the pipeline's own error is empty; the reason is in its failed child job (children.py)
    assert details["error"]["error"]["code"] == "UserError"
    assert details["error"]["error"]["message"] == ""
    assert all(
        uri is None for uri in (o["uri"] for o in ws.get("fail-1").json()["properties"]["outputs"].values())
    )


def test_long_clone_runs_six_hours(ws, clock):
    ws.clone("long-pipeline", "long-1")
    clock.advance(80)  # NotStarted, Starting, Preparing
    assert ws.status("long-1") == "Running"
    clock.advance(6 * 3600 - 1)
    assert ws.status("long-1") == "Running"
    clock.advance(1)
    assert ws.status("long-1") == "Finalizing"
    clock.advance(20)
    assert ws.status("long-1") == "Completed"


@pytest.mark.parametrize(
    ("properties", "running_after", "final"),
    [
        ({"tags": {"sim.template": "failing-pipeline"}}, 40, "Failed"),
        ({"sourceJobId": "/subscriptions/s/resourceGroups/r/jobs/failing-pipeline"}, 40, "Failed"),
        ({"displayName": "long-pipeline"}, 100, "Running"),  # an hour into its six
        ({}, 150, "Completed"),  # no template: runs like a train-pipeline clone
    ],
)
def test_the_template_is_found_by_tag_source_job_or_display_name(ws, clock, properties, running_after, final):
    body = {"properties": {"jobType": "Pipeline", "jobs": {"step": {"type": "command"}}, **properties}}
    assert ws.put("by-rule", body).status_code == 201
    clock.advance(running_after)
    assert ws.status("by-rule") == "Running"
    clock.advance(3600)
    assert ws.status("by-rule") == final


def test_cancel_is_a_long_running_operation_through_cancel_requested(ws, clock):
    ws.clone("train-pipeline", "cancel-me")
    clock.advance(300)
    assert ws.status("cancel-me") == "Running"
    response = ws.cancel("cancel-me")
    assert response.status_code == 202
    assert response.content == b""
    assert int(response.headers["Retry-After"]) >= 10  # §1.4: min 10
    location = response.headers["Location"]
    assert "/providers/Microsoft.MachineLearningServices/locations/" in location
    assert "mfeOperationResults" in location and "api-version=" in location
    assert ws.status("cancel-me") == "CancelRequested"
    pending = ws.http.get(location)
    assert (pending.status_code, pending.headers["Location"]) == (202, location)
    assert ws.stats()["runningNow"] == 1
    clock.advance(30)
    assert ws.status("cancel-me") == "Canceled"
    assert ws.http.get(location).status_code == 200
    details = ws.details("cancel-me").json()
    assert details["status"] == "Canceled"
    assert _parse(details["endTimeUtc"]) == clock.now()
    stats = ws.stats()
    assert (stats["runningNow"], stats["cancelsRequested"]) == (0, 1)


def test_cancel_before_running_leaves_no_start_time(ws, clock):
    ws.clone("train-pipeline", "early")
    assert ws.cancel("early").status_code == 202
    clock.advance(3600)
    assert ws.status("early") == "Canceled"
    assert ws.details("early").json()["startTimeUtc"] is None


def test_cancel_of_a_finished_job_is_200_and_changes_nothing(ws):
    response = ws.cancel("train-pipeline")
    assert response.status_code == 200
    assert ws.http.get(response.headers["Location"]).status_code == 200
    assert ws.status("train-pipeline") == "Completed"
    assert ws.stats()["cancelsRequested"] == 0


def test_cancel_of_an_unknown_job_is_404(ws):
    response = ws.cancel("ghost")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UserError"


def test_immediate_cancel_mode_answers_200_canceled(make_workspace):
    ws = make_workspace(cancel_mode="immediate")
    ws.clone("train-pipeline", "now")
    assert ws.cancel("now").status_code == 200
    assert ws.status("now") == "Canceled"


def test_delete_is_202_with_location_and_204_when_absent(ws):
    ws.clone("train-pipeline", "doomed")
    deleted = ws.http.delete(ws.jobs_url("doomed"), params={"api-version": ws.api_version})
    assert deleted.status_code == 202
    assert ws.http.get(deleted.headers["Location"]).status_code == 200
    assert ws.get("doomed").status_code == 404
    assert ws.http.delete(ws.jobs_url("doomed"), params={"api-version": ws.api_version}).status_code == 204


def test_run_history_errors_and_auth(ws):
    missing = ws.details("nobody")
    assert missing.status_code == 404
    body = missing.json()
    assert body["error"]["message"] == "Run nobody was not found"
    assert body["error"]["innerError"]["code"] == "NotFoundError"
    assert {"correlation", "time"} <= set(body)
    anonymous = ws.http.get(ws.history_url("train-pipeline"), headers={"Authorization": None})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "AuthenticationFailed"


def test_stats_count_created_and_running_jobs_and_reset_restores_the_catalog(ws, clock):
    ws.clone("train-pipeline", "a")
    ws.clone("long-pipeline", "b")
    stats = ws.stats()
    assert (stats["remoteJobsCreated"], stats["runningNow"], stats["jobs"]) == (2, 2, 5)
    assert stats["requestsByOperation"] == {"Jobs_Get": 2, "Jobs_CreateOrUpdate": 2}
    clock.advance(1400)
    assert ws.stats()["runningNow"] == 1
    reset = ws.sim("POST", "reset").json()
    assert (reset["remoteJobsCreated"], reset["runningNow"], reset["jobs"]) == (0, 0, 3)
    assert reset["requestsByOperation"] == {}
    assert ws.get("a").status_code == 404
    assert ws.status("train-pipeline") == "Completed"


def test_a_status_can_be_pinned_to_not_responding_paused_or_unknown(ws, clock):
    ws.clone("train-pipeline", "flaky")
    clock.advance(200)
    pinned = ws.sim("POST", "jobs/flaky/status", json={"status": "NotResponding", "seconds": 60})
    assert pinned.json() == {"name": "flaky", "status": "NotResponding"}
    assert ws.details("flaky").json()["status"] == "NotResponding"
    clock.advance(60)
    assert ws.status("flaky") == "Running"  # §2.5: NotResponding can go back to an earlier state
    ws.sim("POST", "jobs/flaky/status", json={"status": "SomethingNew"})
    assert ws.status("flaky") == "SomethingNew"  # the enum is open (modelAsString)
    ws.sim("POST", "jobs/flaky/status", json={"status": None})
    assert ws.status("flaky") == "Running"
    assert ws.sim("POST", "jobs/ghost/status", json={"status": "Paused"}).status_code == 404


def test_running_seconds_sets_how_long_a_templates_clones_run(make_workspace, clock):
    ws = make_workspace(running_seconds={"long-pipeline": 7200})
    ws.clone("long-pipeline", "two-hours")
    ws.clone("train-pipeline", "train-as-ever")
    clock.advance(80)  # NotStarted, Starting, Preparing
    assert ws.status("two-hours") == "Running"
    clock.advance(1360 - 80)
    assert ws.status("train-as-ever") == "Completed"  # other templates keep their timelines
    clock.advance(80 + 7199 - 1360)
    assert ws.status("two-hours") == "Running"
    clock.advance(1 + 20)
    assert ws.status("two-hours") == "Completed"


def test_running_seconds_refuses_a_template_that_does_not_exist(clock):
    from simulators.azure_ml import AzureMLPlatform

    with pytest.raises(ValueError, match="no-such"):
        AzureMLPlatform(clock, running_seconds={"no-such": 60})
