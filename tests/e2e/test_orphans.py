"""Cancel on every path (peers.md §5.2): a run terminated on the task hub leaves no remote job running.

The orphan sweeper is the app's timer function; here it runs on devhost's virtual clock, or is invoked
directly (as the Functions admin endpoint would) to pin down one sweep at a time.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import requests

from maintenance import orphan_sweeper
from simulators.foundry_agents import SLOW_AGENT
from tests.e2e.conftest import train_request
from tests.e2e.test_foundry_agent_runs import agent_request, busy_thread, waiting_request


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    monkeypatch.setattr(orphan_sweeper, "MEMORY", orphan_sweeper.SweepMemory())


def sweep(stack) -> None:
    function = next(f for f in stack.host.app.timer_triggers if f.name == "sweep_orphans")
    stack.host.invoke_trigger(function, "")


def running_then_terminated(stack, body: dict, running: str, minutes: float = 4) -> None:
    # before 00:05, the sweeper timer's first tick: only the sweeps a test asks for run
    stack.pause_at(timedelta(minutes=minutes))
    stack.post_run(body)
    stack.host.wait_idle()
    assert stack.get_run(body["runId"])["remoteStatus"] == running
    stack.host.terminate(body["runId"], "an operator stopped it on the task hub")
    stack.host.wait_idle()
    run = stack.get_run(body["runId"])
    assert run["status"] == "Cancelled" and run["error"]["code"] == "Terminated"
    stack.resume()  # nothing is due now, so time moves only when a test moves it


def test_a_terminated_azureml_run_has_its_remote_job_cancelled_once_by_the_next_sweep(stack, caplog):
    caplog.set_level(logging.INFO, logger="runbridge.sweeper")
    running_then_terminated(stack, train_request("orphan-aml", parameters=[]), "Running")
    assert stack.sim_stats("azure_ml")["runningNow"] == 1  # the terminate alone leaves it running
    sweep(stack)
    assert stack.sim_stats("azure_ml")["cancelsRequested"] == 1
    sweep(stack)  # cancel requested, not yet confirmed: looked at, not asked again
    assert stack.sim_stats("azure_ml")["cancelsRequested"] == 1
    stack.clock.advance(120)
    sweep(stack)
    stats = stack.sim_stats("azure_ml")
    assert stats["cancelsRequested"] == 1 and stats["runningNow"] == 0 and stats["remoteJobsCreated"] == 1
    events = [json.loads(r.getMessage().split(" ", 1)[1]) for r in caplog.records
              if r.name == "runbridge.sweeper" and r.getMessage().startswith("run_event ")]
    assert [(e["event"], e["runId"], e["remoteRunId"]) for e in events] == [
        ("orphan_cancelled", "orphan-aml", "runbridge-orphan-aml")]


def test_the_sweeper_runs_by_itself_every_five_minutes(stack):
    # terminated a minute in; the agent's run would go on to about 00:09:50
    running_then_terminated(stack, agent_request("orphan-agent", agent=SLOW_AGENT), "in_progress", minutes=1)
    assert stack.sim_stats("foundry_agents")["cancelsRequested"] == 0
    stack.clock.advance(241)  # to 00:05:01, past the five-minute tick: the timer fires on the host's own
    stack.host.wait_idle()  # a tick passed and not yet started keeps devhost busy
    assert stack.sim_stats("foundry_agents")["cancelsRequested"] == 1
    stack.clock.advance(60)
    assert stack.sim_stats("foundry_agents")["activeRuns"] == 0


def test_a_run_terminated_before_it_submitted_anything_costs_one_look_and_no_cancel(stack):
    # terminated between submit attempts, it may have been stopped during one that made its job (issue 19):
    # the sweeper looks for it once (the thread's runs, for the run's tag), finds none and says so
    thread_id = busy_thread(stack, "orphan-owner")
    stack.post_run(waiting_request("orphan-waiting", thread_id))
    stack.host.wait_idle()
    stack.host.terminate("orphan-waiting", "stopped while waiting for the thread")
    stack.host.wait_idle()
    before = stack.sim_stats("foundry_agents")
    sweep(stack)
    after = stack.sim_stats("foundry_agents")
    assert after["cancelsRequested"] == before["cancelsRequested"] == 0
    assert after["requestsByOperation"] == {**before["requestsByOperation"],
                                            "listRuns": before["requestsByOperation"]["listRuns"] + 1}
    assert "the platform has none" in stack.get_run("orphan-waiting")["note"]
    sweep(stack)  # settled: not looked for again
    assert stack.sim_stats("foundry_agents")["requestsByOperation"] == after["requestsByOperation"]
    stack.resume()
    assert stack.wait_run("orphan-owner", timeout=60)["status"] == "Success"  # the thread's own run untouched


def test_a_cancel_the_platform_refused_for_a_while_is_sent_again_by_a_later_sweep(stack):
    running_then_terminated(stack, train_request("orphan-retry", parameters=[]), "Running")
    stack.script_faults("azure_ml", {"kind": "server_error", "operation": "Jobs_Cancel", "times": 50})
    sweep(stack)
    assert stack.sim_stats("azure_ml")["cancelsRequested"] == 0 and stack.sim_stats("azure_ml")["runningNow"] == 1
    requests.delete(f"{stack.sim('azure_ml')}/_sim/faults", timeout=10)
    sweep(stack)
    assert stack.sim_stats("azure_ml")["cancelsRequested"] == 1
