"""A live run whose connection disappears (issue 18 item 2), and what the orphan sweeper then does (item 6).

A redeploy that renames a connection, or a slot swap, leaves runs in flight whose connection is gone. The
run shows Unknown with ConnectionNotConfigured under a budget of its own, comes back when the setting does,
or ends Failed naming the remote job and where to cancel it; never InternalError with the job unwatched.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from maintenance import orphan_sweeper
from tests.e2e.conftest import train_request
from tests.support.run_truth import RecordWatcher, check_run_truth

PREFIX = "CONNECTIONS__azureml-sim__"


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    monkeypatch.setattr(orphan_sweeper, "MEMORY", orphan_sweeper.SweepMemory())


def remove_connection(monkeypatch) -> dict[str, str]:
    saved = {k: v for k, v in os.environ.items() if k.startswith(PREFIX)}
    assert saved
    for key in saved:
        monkeypatch.delenv(key)
    return saved


def running_at(stack, run_id: str, minutes: float) -> dict:
    stack.pause_at(timedelta(minutes=minutes))
    assert stack.post_run(train_request(run_id, parameters=[])).status_code == 202
    stack.host.wait_idle()
    run = stack.get_run(run_id)
    assert run["status"] == "Running", run
    return run


def test_a_run_whose_connection_went_missing_shows_unknown_and_comes_back_with_the_setting(stack, monkeypatch):
    watcher = RecordWatcher(stack.host, stack.front.management)
    before = running_at(stack, "lost-1", minutes=5)
    saved = remove_connection(monkeypatch)
    stack.pause_at(timedelta(minutes=9))
    stack.host.wait_idle()
    run = stack.get_run("lost-1")
    assert run["status"] == "Unknown" and run["error"]["code"] == "ConnectionNotConfigured", run
    assert run["remoteRunId"] == before["remoteRunId"] and run["monitorUrl"] == before["monitorUrl"]
    for key, value in saved.items():
        monkeypatch.setenv(key, value)
    stack.resume()
    done = stack.wait_run("lost-1")
    assert done["status"] == "Success" and done["error"] is None, done
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1
    check_run_truth(watcher.records["lost-1"])


def test_a_run_whose_connection_stays_missing_fails_naming_its_remote_job_and_where_to_cancel_it(stack, monkeypatch):
    before = running_at(stack, "lost-2", minutes=5)
    remove_connection(monkeypatch)
    stack.resume()
    done = stack.wait_run("lost-2")
    assert done["status"] == "Failed" and done["error"]["code"] == "ConnectionNotConfigured", done
    message = done["error"]["message"]
    assert before["remoteRunId"] in message and before["monitorUrl"] in message and "cancel it" in message
    assert done["remoteLocation"]["workspace"] == "sim-ws"  # where the job lives, captured at submit


def test_the_sweeper_cancels_by_the_captured_coordinates_and_the_record_says_so(stack, monkeypatch):
    running_at(stack, "lost-3", minutes=5)
    stack.host.terminate("lost-3", "an operator stopped it on the task hub")
    stack.host.wait_idle()
    remove_connection(monkeypatch)
    stack.resume()
    sweep = next(f for f in stack.host.app.timer_triggers if f.name == "sweep_orphans")
    stack.host.invoke_trigger(sweep, "")
    assert stack.sim_stats("azure_ml")["cancelsRequested"] == 1
    run = stack.get_run("lost-3")
    assert run["status"] == "Cancelled" and "asked the platform to cancel" in run["note"], run
    stack.clock.advance(120)
    stack.host.invoke_trigger(sweep, "")
    run = stack.get_run("lost-3")
    assert stack.sim_stats("azure_ml")["runningNow"] == 0
    assert run["remoteStatus"] == "Canceled" and "after the orphan sweeper cancelled it" in run["note"], run
    assert run["status"] == "Cancelled" and run["error"]["code"] == "Terminated"
