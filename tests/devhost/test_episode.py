"""Episode-level rungs: hand-built histories through the real SDK handle, checking what devhost appends.

Each test climbs from the first episode; the hard rungs are the ones the reference calls risky
(durable-functions.md §6): retry id accounting, timer cancel, continue-as-new carry-over.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import azure.durable_functions as df

from devhost.episode import Instance, new_state, run_episode
from devhost.history import EventType, event, execution_started

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
INST = Instance("inst-1", "orch", "exec-1", None)


def handle(fn):
    return df.Orchestrator.create(fn)


def start():
    return [execution_started(T0, "orch", None, "inst-1", "exec-1")]


def kinds(events):
    return [EventType(e["EventType"]).name for e in events]


def episode(fn, past, new, state, at=0):
    return run_episode(handle(fn), INST, past, new, state, T0 + timedelta(seconds=at))


def two_activities(context):
    a = yield context.call_activity("a", 1)
    b = yield context.call_activity("b", a)
    return [a, b]


def test_first_episode_schedules_the_first_activity_with_sequence_zero():
    out = episode(two_activities, [], start(), new_state("exec-1"))
    assert kinds(out.events) == ["OrchestratorStarted", "ExecutionStarted", "TaskScheduled", "OrchestratorCompleted"]
    assert out.activities == [(0, "a", "1")]
    assert out.runtime_status == "Running"


def test_completion_then_done_with_output():
    state = new_state("exec-1")
    first = episode(two_activities, [], start(), state)
    second = episode(two_activities, first.events,
                     [event(EventType.TaskCompleted, T0, TaskScheduledId=0, Result="10")], first.state, 1)
    assert second.activities == [(1, "b", "10")]
    third = episode(two_activities, first.events + second.events,
                    [event(EventType.TaskCompleted, T0, TaskScheduledId=1, Result="20")], second.state, 2)
    assert third.runtime_status == "Completed" and third.output == [10, 20]
    assert kinds(third.events)[-2:] == ["ExecutionCompleted", "OrchestratorCompleted"]


def test_a_changed_activity_name_on_replay_is_non_deterministic():
    first = episode(two_activities, [], start(), new_state("exec-1"))

    def renamed(context):
        a = yield context.call_activity("other", 1)
        return a

    out = episode(renamed, first.events, [event(EventType.TaskCompleted, T0, TaskScheduledId=0, Result="1")],
                  first.state, 1)
    assert out.runtime_status == "Failed"
    assert "Non-Deterministic" in out.output and "'a'" in out.output and "'other'" in out.output


def race(context):
    timer = context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    event_task = context.wait_for_external_event("go")
    winner = yield context.task_any([timer, event_task])
    if winner == event_task:
        timer.cancel()
        return "event"
    return "timer"


def test_timer_cancelled_when_the_event_wins_is_closed_and_its_message_dropped():
    first = episode(race, [], start(), new_state("exec-1"))
    assert [seq for seq, _ in first.timers] == [0] and first.state["open"] == {"0": "timer"}
    out = episode(race, first.events, [event(EventType.EventRaised, T0, Name="go", Input='"x"')], first.state, 1)
    assert out.cancelled_timers == [0]
    assert out.runtime_status == "Completed" and out.output == "event"


def retry_and_other(context):
    options = df.RetryOptions(1000, 2)
    retried = context.call_activity_with_retry("flaky", options, "r")
    other = context.call_activity("other", "o")
    winner = yield context.task_any([retried, other])
    follow = yield context.call_activity("after", "f")
    return [winner.result, follow]


def test_retry_sequence_numbers_match_the_sdk_when_a_failure_and_a_resume_share_a_batch():
    # flaky=0, other=1. One batch brings other's completion (which resumes the generator and
    # schedules "after") and flaky's failure (which makes the SDK take a number for its retry timer).
    first = episode(retry_and_other, [], start(), new_state("exec-1"))
    assert [a[:2] for a in first.activities] == [(0, "flaky"), (1, "other")]
    batch = [event(EventType.TaskCompleted, T0, TaskScheduledId=1, Result='"o!"'),
             event(EventType.TaskFailed, T0, TaskScheduledId=0, Reason="nope", Details="d")]
    out = episode(retry_and_other, first.events, batch, first.state, 1)
    timers = [e for e in out.events if e["EventType"] == EventType.TimerCreated]
    assert [t["EventId"] for t in timers] == [2]  # the retry timer takes 2 first...
    assert out.activities == [(3, "after", '"f"')]  # ...then "after" takes 3, as in the SDK
    # The next episode replays it all without a non-determinism failure and finishes.
    done = episode(retry_and_other, first.events + out.events,
                   [event(EventType.TaskCompleted, T0, TaskScheduledId=3, Result='"f!"')], out.state, 2)
    # The orchestrator returned, but the retry timer is still open: DTFx keeps the instance Running.
    assert done.runtime_status == "Running" and done.state["open"] == {"2": "timer"}


def looper(context):
    count = context.get_input() or 0
    timer = context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
    stop = context.wait_for_external_event("stop")
    winner = yield context.task_any([timer, stop])
    if winner == stop:
        timer.cancel()
        return count
    context.continue_as_new(count + 1)


def test_an_event_after_the_continue_as_new_decision_in_the_same_batch_is_carried_over():
    first = episode(looper, [], start(), new_state("exec-1"))
    batch = [event(EventType.TimerFired, T0, TimerId=0, FireAt="x"),
             event(EventType.EventRaised, T0, Name="stop", Input="null")]
    out = episode(looper, first.events, batch, first.state, 60)
    assert out.runtime_status == "ContinuedAsNew" and out.continue_input == "1"
    assert [e["Name"] for e in out.carried_events] == ["stop"]


def test_an_event_before_the_decision_in_the_same_batch_is_consumed_not_carried():
    first = episode(looper, [], start(), new_state("exec-1"))
    batch = [event(EventType.EventRaised, T0, Name="stop", Input="null"),
             event(EventType.TimerFired, T0, TimerId=0, FireAt="x")]
    out = episode(looper, first.events, batch, first.state, 60)
    assert out.runtime_status == "Completed" and out.output == 0
    assert out.carried_events == []
