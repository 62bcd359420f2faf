"""devhost runs orchestrations with the semantics the Durable Functions docs and the 1.x SDK define."""

from __future__ import annotations

import time
from datetime import timedelta

from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor

from .conftest import EPOCH, HERE


def test_function_chaining_passes_each_result_to_the_next(served):
    iid = served.start("chain", {"n": 3})
    done = served.wait(iid)
    assert done.status == "Completed"
    assert done.output == {"echo": 12}
    types = served.history_types(iid)
    assert types.count("TaskScheduled") == 3 and types.count("TaskCompleted") == 3
    assert types[-2:] == ["ExecutionCompleted", "OrchestratorCompleted"]


def test_fan_out_schedules_every_task_in_one_episode_and_fans_in(served):
    iid = served.start("fan_out", 10)
    assert served.wait(iid).output == sum(2 * i for i in range(10))
    history = served.host.store.history(iid)
    scheduled = [e["EventId"] for e in history if e["EventType"] == 4]
    assert scheduled == list(range(10))
    # All ten were scheduled by the first episode: before the first TaskCompleted.
    first_completion = next(i for i, e in enumerate(history) if e["EventType"] == 5)
    assert max(i for i, e in enumerate(history) if e["EventType"] == 4) < first_completion


def test_durable_timers_fire_at_their_time_on_the_virtual_clock(served):
    started = time.monotonic()
    iid = served.start("sleeper", [1, 5])
    seen = served.wait(iid).output
    assert [s[:19] for s in seen] == ["2026-01-01T00:00:00", "2026-01-01T01:00:00", "2026-01-01T06:00:00"]
    assert time.monotonic() - started < 5  # six simulated hours, no real waiting


def test_event_raised_after_the_wait_wins_and_the_timer_is_cancelled(served):
    served.host.set_time_limit(EPOCH + timedelta(minutes=30))  # stop time while it waits
    iid = served.start("approval")
    served.host.wait_idle()
    served.host.raise_event(iid, "approve", "yes")
    done = served.wait(iid)
    assert done.output == {"approved": "yes"}
    assert served.clock.now() < EPOCH + timedelta(hours=1)  # the cancelled timer did not hold it open
    assert "TimerFired" not in served.history_types(iid)


def test_an_uncancelled_timer_keeps_the_instance_running_until_it_fires(served):
    served.host.set_time_limit(EPOCH + timedelta(minutes=30))
    iid = served.start("approval_no_cancel")
    served.host.wait_idle()
    served.host.raise_event(iid, "approve", "yes")
    served.host.wait_idle()
    assert served.host.get(iid).status == "Running"
    served.host.set_time_limit(None)
    done = served.wait(iid)
    assert done.output == {"event_won": True}
    assert done.updated.startswith("2026-01-01T01:00:00")


def test_event_raised_before_the_wait_is_buffered_until_the_wait(served):
    iid = served.start("late_waiter")
    served.host.raise_event(iid, "go", {"early": True})
    assert served.wait(iid).output == {"early": True}


def test_activity_retry_waits_between_attempts_then_succeeds(served):
    iid = served.start("retrying", {"key": "retry-ok:2", "attempts": 3, "first_ms": 60000})
    done = served.wait(iid)
    assert done.output["result"] == "retry-ok ok after 3"
    assert done.output["now"].startswith("2026-01-01T00:02:00")  # two one-minute retry delays
    types = served.history_types(iid)
    assert types.count("TaskFailed") == 2 and types.count("TaskCompleted") == 1
    assert types.count("TimerCreated") == 2


def test_activity_retry_surfaces_the_last_failure_when_attempts_run_out(served):
    iid = served.start("retrying", {"key": "retry-never:9", "attempts": 3, "first_ms": 1000})
    done = served.wait(iid)
    assert "retry-never attempt 3 failed" in done.output["failed"]
    types = served.history_types(iid)
    # N failed attempts use 2N sequence numbers: each failure is followed by a timer (§1.6 "Retry").
    assert types.count("TaskFailed") == 3 and types.count("TimerCreated") == 3


def test_sub_orchestrations_return_results_and_failures_to_the_parent(served):
    iid = served.start("parent", None, "parent-1")
    done = served.wait(iid)
    assert done.output["first"] == {"echo": 4}
    assert done.output["second"] == 6
    assert "boom: x" in done.output["child_error"]
    child = served.host.get("parent-1-child")
    assert child.status == "Completed" and child.parent_id == "parent-1"
    failed = [r for r in served.host.store.query(prefix="") if r.name == "failing"]
    assert len(failed) == 1 and failed[0].status == "Failed"
    assert failed[0].id.endswith(":2")  # unnamed children are "<parent execution id>:<seq>"


def test_continue_as_new_keeps_the_instance_id_and_restarts_history(served):
    served.host.set_time_limit(EPOCH + timedelta(seconds=150))
    iid = served.start("counter", {"step": 0, "steps": 4, "added": 0}, "counter-1")
    served.host.wait_idle()
    served.host.raise_event(iid, "add", 5)
    served.host.set_time_limit(None)
    done = served.wait(iid)
    assert done.output == {"step": 4, "steps": 4, "added": 5}
    history = served.host.store.history(iid)
    assert served.history_types(iid)[1] == "ExecutionStarted"
    assert sum(1 for e in history if e["EventType"] == 0) == 1  # only the last execution's history
    all_runs = served.host.store.history(iid, all_executions=True)
    assert sum(1 for e in all_runs if e["EventType"] == 16) == 4  # ContinueAsNew recorded each time


def test_custom_status_carries_over_continue_as_new_until_the_new_execution_sets_its_own(served):
    # DTFx keeps the last custom status when an execution continues as new (TaskOrchestrationDispatcher:
    # the new execution's state takes the old Status, `?? carryOverStatus`), so a reader never sees none
    served.host.set_time_limit(EPOCH + timedelta(minutes=1))
    iid = served.start("status_across_continue", {"execution": 1})
    served.host.wait_idle()
    assert served.host.get(iid).custom_status == {"execution": 1}
    served.host.set_time_limit(None)
    served.host.wait_idle()
    assert served.host.get(iid).custom_status == {"execution": 2}
    served.host.raise_event(iid, "finish")
    assert served.wait(iid).output == "done"


def test_custom_status_is_updated_by_each_episode(served):
    served.host.set_time_limit(EPOCH + timedelta(minutes=1))
    iid = served.start("status_reporter")
    served.host.wait_idle()
    assert served.host.get(iid).custom_status == {"stage": "before"}
    served.host.set_time_limit(None)
    served.host.wait_idle()
    assert served.host.get(iid).custom_status == {"stage": "after"}
    served.host.raise_event(iid, "finish")
    done = served.wait(iid)
    assert done.output == "done" and done.custom_status == {"stage": "after"}


def test_an_activity_failure_fails_the_orchestration_with_its_message(served):
    iid = served.start("failing")
    done = served.wait(iid)
    assert done.status == "Failed"
    assert done.output.startswith("Orchestrator function 'failing' failed:")
    assert "Activity function 'boom' failed: boom: x" in done.output


def test_changed_code_on_replay_fails_the_instance_as_non_deterministic(served):
    switches = served.host.app.module.SWITCHES
    served.host.set_time_limit(EPOCH + timedelta(seconds=30))
    iid = served.start("drifting")
    served.host.wait_idle()
    switches["nondeterministic"] = True
    try:
        served.host.set_time_limit(None)
        done = served.wait(iid)
    finally:
        switches["nondeterministic"] = False
    assert done.status == "Failed"
    assert "Non-Deterministic" in done.output and "async_echo" in done.output
    # the host itself carries on
    assert served.wait(served.start("chain", {"n": 1})).status == "Completed"


def test_custom_classes_travel_through_to_json_and_from_json(served):
    done = served.wait(served.start("custom_types"))
    assert done.output == [2, 3]  # the activity got a Point and returned one


def test_a_slow_sync_activity_blocks_neither_other_instances_nor_terminate(served):
    slow = served.start("slow_work", 3.0)
    time.sleep(0.2)
    began = time.monotonic()
    assert served.wait(served.start("chain", {"n": 2}), timeout=2).status == "Completed"
    served.host.terminate(slow, "operator said stop")
    ended = served.wait(slow, timeout=1)
    assert time.monotonic() - began < 2
    assert ended.status == "Terminated" and ended.output == "operator said stop"


def test_any_app_object_name_and_durable_blueprints_from_sibling_modules(tmp_path):
    host = DevHost(HERE / "blueprint_app", db_path=str(tmp_path / "bp.sqlite"))
    front = HttpFrontDoor(host, port=0)
    host.start()
    front.start()
    try:
        host.start_new("greet", "g1", '"hello"')
        assert host.wait_for("g1", 10).output == "HELLO!"
    finally:
        front.stop()
        host.stop()
