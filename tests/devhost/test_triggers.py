"""Queue and timer triggers, route templates and schedules behave as the Functions host's do."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from devhost.app_loader import compile_route
from devhost.cron import Schedule
from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor
from devhost.triggers import timespan_seconds
from devkit.clock import VirtualClock

from .conftest import FUNCTION_KEY


def test_a_queue_message_starts_an_orchestration_through_the_durable_client(served):
    message_id = served.host.enqueue("work-items", "5")
    done = served.wait(f"q-{message_id}")
    assert done.output == {"echo": 20}
    assert served.host.queues.peek("work-items") == []


def test_a_failing_message_is_retried_then_moved_to_the_poison_queue(served):
    served.host.enqueue("work-items", "poison")
    served.host.wait_idle()
    assert served.host.queues.peek("work-items") == []
    poisoned = served.host.queues.peek("work-items-poison")
    assert [m.body for m in poisoned] == ["poison"]
    # host.json says maxDequeueCount 3 and visibilityTimeout 5 s: three tries, ten simulated seconds
    assert served.clock.now().second == 10


def test_admin_route_invokes_a_queue_function_by_name(served):
    response = requests.post(f"{served.base_url}/admin/functions/queue_start?code={FUNCTION_KEY}",
                             json={"input": "1"}, timeout=10)
    assert response.status_code == 202
    started = served.host.store.query(prefix="q-")  # the function ran before the 202: the run exists
    assert len(started) == 1
    assert served.wait(started[0].id).output == {"echo": 4}


@pytest.mark.parametrize(("template", "path", "params"), [
    ("runs/{id}", "runs/abc", {"id": "abc"}),
    ("runs/{id}/cancel", "runs/abc/cancel", {"id": "abc"}),
    ("hello/{who?}", "hello", {}),
    ("hello/{who?}", "hello/ada", {"who": "ada"}),
    ("files/{*rest}", "files/a/b/c", {"rest": "a/b/c"}),
    ("items/{n:int}", "items/42", {"n": "42"}),
])
def test_route_templates_match_like_the_functions_host(template, path, params):
    match = compile_route(template).fullmatch(path)
    assert match is not None
    assert {k: v for k, v in match.groupdict().items() if v is not None} == params


def test_route_templates_do_not_match_other_paths():
    assert compile_route("runs/{id}").fullmatch("runs/a/b") is None
    assert compile_route("runs").fullmatch("runsx") is None


def test_ncrontab_schedules_pick_the_next_matching_second():
    after = datetime(2026, 1, 1, 10, 7, 3, tzinfo=timezone.utc)
    assert Schedule("0 */5 * * * *").next_after(after) == datetime(2026, 1, 1, 10, 10, 0, tzinfo=timezone.utc)
    assert Schedule("30 0 9 * * mon-fri").next_after(after) == datetime(2026, 1, 2, 9, 0, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        Schedule("* * * *")


def test_timespans_read_like_dotnet():
    assert timespan_seconds("00:00:30", 0) == 30
    assert timespan_seconds("1.02:00:00", 0) == 93600
    assert timespan_seconds(None, 7) == 7


def test_a_timer_function_fires_on_its_schedule_as_virtual_time_passes_and_says_when_it_is_late(tmp_path):
    clock = VirtualClock(datetime(2026, 3, 1, tzinfo=timezone.utc))
    host = DevHost(Path(__file__).parent / "blueprint_app", db_path=str(tmp_path / "t.sqlite"), clock=clock)
    front = HttpFrontDoor(host, port=0)
    host.start()
    front.start()
    try:
        clock.advance(301)  # the 00:05:00 tick, one second ago: on time
        host.wait_idle()
        clock.advance(900)  # the next tick due at 00:10:00, seen at 00:20:01: past due (a late timer says so)
        host.wait_idle()
        outputs = sorted(host.wait_for(row.id, 10).output for row in host.store.query())
        assert outputs == ["ON TIME!", "PAST DUE!"]
    finally:
        front.stop()
        host.stop()


def test_a_timer_function_never_overlaps_itself_a_tick_missed_meanwhile_runs_after_it_past_due(tmp_path):
    clock = VirtualClock(datetime(2026, 3, 1, tzinfo=timezone.utc))
    host = DevHost(Path(__file__).parent / "blueprint_app", db_path=str(tmp_path / "t.sqlite"), clock=clock)
    function = next(f for f in host.app.timer_triggers if f.name == "every_five_minutes")
    host.triggers._inflight[function.name] = 1  # an earlier invocation still running at the 00:05 tick...
    clock.advance(301)
    assert host.triggers.poll() is False and host.triggers.timer_due()
    clock.advance(120)
    host.triggers._inflight[function.name] = 0  # ...and until 00:07:01: the held tick runs then, past due
    front = HttpFrontDoor(host, port=0)
    host.start()
    front.start()
    try:
        host.wait_idle()
        assert [host.wait_for(row.id, 10).output for row in host.store.query()] == ["PAST DUE!"]
    finally:
        front.stop()
        host.stop()
