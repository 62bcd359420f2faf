"""core.timeline: the moments of a run's history, as `GET /api/runs/{id}/history` lists them."""

from __future__ import annotations

import json

from core.timeline import decode, timeline_from_events


def _task(name: str, result: dict, time: str) -> dict:
    return {"type": "TaskCompleted", "time": time, "name": name, "result": json.dumps(result)}


REQUEST = {"request": {"jobType": "azureml_pipeline", "runId": "r1"}}


def test_a_first_execution_shows_submit_polls_cancel_and_end_in_order():
    events = [
        {"type": "ExecutionStarted", "time": "t0", "name": "azureml_pipeline",
         "input": json.dumps(json.dumps(REQUEST))},
        {"type": "TimerCreated", "time": "t0", "fireAt": "t0"},
        _task("submit_run", {"ok": True, "remoteRunId": "runbridge-r1", "remoteStatus": "NotStarted"}, "t1"),
        _task("poll_run", {"status": "Starting", "remoteStatus": "Queued"}, "t2"),
        _task("poll_run", {"transient": True, "retryAfter": 5, "error": "HTTP 503 from the platform"}, "t3"),
        {"type": "EventRaised", "time": "t4", "name": "cancel"},
        _task("cancel_run", {"ok": True}, "t5"),
        _task("poll_run", {"status": "Cancelled", "remoteStatus": "Canceled"}, "t6"),
        {"type": "ExecutionCompleted", "time": "t7",
         "result": json.dumps({"status": "Cancelled", "remoteStatus": "Canceled", "error": {"code": "Cancelled"}})},
    ]
    points = timeline_from_events(events)
    assert [p["kind"] for p in points] == ["started", "submitted", "poll", "poll_error", "cancel_requested",
                                          "cancel_sent", "poll", "ended"]
    assert [p["time"] for p in points] == ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"]
    assert points[1]["label"] == "submitted runbridge-r1"
    assert points[2] | {"status": "Starting", "remoteStatus": "Queued"} == points[2]
    assert "503" in points[3]["label"]
    assert points[-1]["status"] == "Cancelled" and points[-1]["label"] == "ended Cancelled (Cancelled)"


def test_a_continued_execution_starts_with_what_the_run_record_carried_over():
    carried = {**REQUEST, "poll": {"polls": 30}, "wait": 60,
               "run": {"createdAt": "t0", "startedAt": "t1", "polls": 30, "status": "Running",
                       "remoteStatus": "Running"}}
    events = [{"type": "ExecutionStarted", "time": "t9", "input": json.dumps(carried)},
              _task("poll_run", {"status": "Success", "remoteStatus": "Completed"}, "t10"),
              _task("read_outputs", {"ok": True, "outputs": {"model_uri": "x", "accuracy": "y"}}, "t11")]
    points = timeline_from_events(events)
    assert [(p["kind"], p["time"]) for p in points] == [
        ("started", "t0"), ("remote_started", "t1"), ("continued", "t9"), ("poll", "t10"), ("outputs", "t11")]
    assert points[2]["label"] == "continued as new after 30 polls" and points[2]["polls"] == 30
    assert points[4]["label"] == "outputs read: accuracy, model_uri"


def test_failures_are_points_too_and_unrelated_events_are_not():
    events = [
        _task("submit_run", {"ok": False, "transient": True,
                             "error": {"code": "SubmitFailed", "message": "timed out"}}, "a"),
        _task("submit_run", {"ok": False, "transient": False, "error": {"code": "NotFound", "message": "no job"}}, "b"),
        _task("cancel_run", {"ok": False, "transient": True, "error": "HTTP 500"}, "c"),
        {"type": "TaskFailed", "time": "d", "name": "poll_run", "reason": "boom"},
        {"type": "TimerFired", "time": "e"}, {"type": "EventRaised", "time": "f", "name": "other"},
        _task("some_other_activity", {"ok": True}, "g"),
        {"type": "ExecutionCompleted", "time": "h", "result": "not json"},
    ]
    points = timeline_from_events(events)
    assert [p["kind"] for p in points] == ["submit_retry", "submit_failed", "cancel_failed", "failed", "ended"]
    assert points[1]["label"] == "submit failed: no job"
    assert points[3]["label"] == "poll_run failed: boom"
    assert points[4]["label"] == "ended" and points[4]["status"] is None


def test_long_messages_are_cut_and_payloads_decoded_however_often_they_were_encoded():
    point = timeline_from_events([_task("poll_run", {"transient": True, "error": "x" * 1000}, "t")])[0]
    assert len(point["label"]) < 260 and point["label"].endswith("…")
    assert decode(json.dumps(json.dumps({"a": 1}))) == {"a": 1}
    assert decode("plain text") == "plain text" and decode(None) is None


def test_moments_carried_across_continue_as_new_give_the_whole_run():
    run = {"createdAt": "t0", "startedAt": "t3", "polls": 60, "status": "Running", "remoteStatus": "Running",
           "remoteRunId": "runbridge-r1"}
    moments = [{"time": "t1", "event": "submitted", "status": "Starting", "remoteStatus": "NotStarted", "polls": 0},
               {"time": "t3", "event": "status_changed", "status": "Running", "remoteStatus": "Running", "polls": 4},
               {"time": "t5", "event": "continued_as_new", "status": "Running", "remoteStatus": "Running", "polls": 30},
               {"time": "t6", "event": "cancel_requested", "status": "Running", "remoteStatus": "Running", "polls": 31},
               {"time": "t9", "event": "continued_as_new", "status": "Running", "remoteStatus": "Running", "polls": 60},
               {"time": "t9", "event": "something_new", "status": "Running"}]
    started = {"type": "ExecutionStarted", "time": "t9",
               "input": json.dumps({**REQUEST, "poll": {"polls": 60}, "run": run, "moments": moments})}
    points = timeline_from_events([started, _task("poll_run", {"status": "Running", "remoteStatus": "Running"}, "t10")])
    assert [(p["kind"], p["time"]) for p in points] == [
        ("started", "t0"), ("submitted", "t1"), ("poll", "t3"), ("continued", "t5"), ("cancel_requested", "t6"),
        ("continued", "t9"), ("poll", "t10")]
    assert points[1]["label"] == "submitted runbridge-r1" and points[2]["label"] == "Running (Running)"
    assert points[5]["label"] == "continued as new after 60 polls"


def test_a_run_waiting_for_a_busy_platform_shows_its_waits_before_the_submit_even_across_continue_as_new():
    busy = {"ok": False, "transient": False, "busy": True,
            "error": {"code": "PlatformRejected", "message": "Thread thread_1 has an active run"}}
    first = timeline_from_events([_task("submit_run", busy, "t1")])
    assert first == [{"time": "t1", "kind": "submit_wait",
                      "label": "platform busy, waiting: Thread thread_1 has an active run"}]
    run = {"createdAt": "t0", "status": "Starting", "polls": 0}
    moments = [{"time": "t1", "event": "waiting", "status": "Starting", "polls": 0},
               {"time": "t5", "event": "continued_as_new", "status": "Starting", "polls": 0}]
    started = {"type": "ExecutionStarted", "time": "t5",
               "input": json.dumps({**REQUEST, "run": run, "moments": moments, "waiting": {"poll": {}, "wait": 5}})}
    points = timeline_from_events([started, _task("submit_run", busy, "t6"),
                                   _task("submit_run", {"ok": True, "remoteRunId": "thread_1/run_2"}, "t7")])
    assert [p["kind"] for p in points] == ["started", "submit_wait", "continued", "submit_wait", "submitted"]
