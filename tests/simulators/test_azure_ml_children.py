"""Azure ML simulator: a pipeline's child jobs (its steps) in RunHistory, each with its own lifecycle.

azureml-jobs.md §1.1 (the SDK lists children through RunHistory `get_child`) and §2.7 (RunHistory has the
times and errors); simulators/azure_ml/children.py says what the simulator chose where the reference is
silent.
"""

from __future__ import annotations

from typing import Any


def _children(ws: Any, name: str) -> list[dict[str, Any]]:
    page = ws.children(name)
    assert page.status_code == 200, page.text
    return page.json()["value"]


def test_a_train_clone_runs_its_steps_one_after_the_other(ws, clock):
    ws.clone("train-pipeline", "steps-1")
    assert _children(ws, "steps-1") == []  # no child run before the pipeline runs
    clock.advance(140 + 300)  # Running from 140 s; two steps of 600 s each
    running = _children(ws, "steps-1")
    assert [(c["displayName"], c["status"]) for c in running] == [("train", "Running")]
    assert running[0]["parentRunId"] == "steps-1" and running[0]["endTimeUtc"] is None
    clock.advance(600)
    assert [c["status"] for c in _children(ws, "steps-1")] == ["Completed", "Running"]
    clock.advance(600)
    done = _children(ws, "steps-1")
    assert [(c["displayName"], c["status"], c["error"]) for c in done] == [
        ("train", "Completed", None), ("evaluate", "Completed", None)]
    assert done[0]["endTimeUtc"] == done[1]["startTimeUtc"]


def test_the_failing_pipeline_fails_in_its_train_step_with_the_error_its_parent_lacks(ws, clock):
    ws.clone("failing-pipeline", "steps-fail")
    clock.advance(400)
    assert ws.status("steps-fail") == "Failed"
    assert ws.details("steps-fail").json()["error"]["error"]["message"] == ""
    prep, train = _children(ws, "steps-fail")
    assert (prep["displayName"], prep["status"], prep["error"]) == ("prep", "Completed", None)
    assert (train["displayName"], train["status"]) == ("train", "Failed")
    assert train["error"]["error"]["code"] == "UserError"
    assert "loss became NaN" in train["error"]["error"]["message"]
    assert train["endTimeUtc"] == ws.details("steps-fail").json()["endTimeUtc"]


def test_a_cancel_cancels_the_running_step_and_starts_no_other(ws, clock):
    ws.clone("train-pipeline", "steps-cancel")
    clock.advance(140 + 60)
    assert ws.cancel("steps-cancel").status_code == 202
    assert [c["status"] for c in _children(ws, "steps-cancel")] == ["CancelRequested"]
    clock.advance(3600)
    (train,) = _children(ws, "steps-cancel")
    assert train["status"] == "Canceled" and train["endTimeUtc"] is not None


def test_children_page_with_next_link_and_top_caps_them(ws, clock):
    body = ws.clone_body("train-pipeline")
    step = body["properties"]["jobs"]["train"]
    names = [f"s{i:03}" for i in range(45)]
    body["properties"]["jobs"] = {name: {**step, "name": name, "display_name": name} for name in names}
    assert ws.put("wide-1", body).status_code == 201
    clock.advance(3600)
    first = ws.children("wide-1").json()
    assert len(first["value"]) == 20 and first["nextLink"]
    names = [c["displayName"] for c in first["value"]]
    link = first["nextLink"]
    while link:
        page = ws.http.get(link).json()
        names += [c["displayName"] for c in page["value"]]
        link = page["nextLink"]
    assert names == [f"s{i:03}" for i in range(45)]
    assert len(ws.children("wide-1", **{"$top": "5"}).json()["value"]) == 5
    assert ws.children("no-such-run").status_code == 404
