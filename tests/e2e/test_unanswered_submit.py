"""A submit that may have reached the platform is reconciled before it is retried or failed (issue 19).

The create goes through but its answer is broken (a gateway's HTML 200), then the platform stays down for
the run's whole retry budget: the run ends Failed SubmitFailed without a remoteRunId, its record naming
what finds the job (`remoteName`). Once the platform is back, the orphan sweeper finds the job by that,
cancels it, and says so on the run's record. Faults are scripted on the simulators (simulators/faults.py);
time is devhost's virtual clock.
"""

from __future__ import annotations

import pytest
import requests

from maintenance import orphan_sweeper
from simulators.foundry_agents import SLOW_AGENT
from tests.e2e.conftest import train_request
from tests.e2e.test_abacus_runs import abacus_request
from tests.e2e.test_foundry_agent_runs import agent_request
from tests.e2e.test_orphans import sweep


@pytest.fixture(autouse=True)
def sweeper_on_the_virtual_clock(monkeypatch, stack):
    monkeypatch.setattr(orphan_sweeper, "MEMORY", orphan_sweeper.SweepMemory())
    monkeypatch.setattr(orphan_sweeper, "wall_clock", stack.clock.now)


def down_after(stack, platform: str, created: dict, read: str, reads_before: int) -> None:
    """The create answers broken (`created`), then `read` fails for good after `reads_before` good ones."""
    stack.script_faults(platform, [created, {"kind": "unavailable", "operation": read, "times": 10_000,
                                             "skip": reads_before}])


def recover(stack, platform: str) -> None:
    requests.delete(f"{stack.sim(platform)}/_sim/faults", timeout=10)


def swept_once_then_ended(stack, platform: str, run_id: str, cancels: str = "cancelsRequested") -> dict:
    """Sweep (the job is found and cancelled), sweep again (asked already: not again), let it end, sweep:
    the run's record as GET /api/runs/{id} shows it then."""
    recover(stack, platform)
    sweep(stack)
    assert stack.sim_stats(platform)[cancels] == 1
    assert "asked the platform to cancel" in stack.get_run(run_id)["note"]
    sweep(stack)
    assert stack.sim_stats(platform)[cancels] == 1
    stack.clock.advance(600)
    sweep(stack)
    return stack.get_run(run_id)


def test_an_azureml_job_whose_put_answer_was_lost_is_found_and_cancelled_by_the_sweeper(stack):
    down_after(stack, "azure_ml", {"kind": "gateway_200", "operation": "Jobs_CreateOrUpdate"}, "Jobs_Get", 3)
    stack.post_run(train_request("lost-put", job="long-pipeline", parameters=[]))
    run = stack.wait_run("lost-put", timeout=60)
    assert run["status"] == "Failed" and run["error"]["code"] == "SubmitFailed", run
    assert run["remoteRunId"] is None and run["remoteName"] == "runbridge-lost-put"
    assert stack.sim_stats("azure_ml")["runningNow"] == 1  # made, and unwatched
    run = swept_once_then_ended(stack, "azure_ml", "lost-put")
    stats = stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1 and stats["runningNow"] == 0 and stats["cancelsRequested"] == 1
    assert run["status"] == "Failed" and run["error"]["code"] == "SubmitFailed"  # the run's end stands
    assert run["remoteStatus"] == "Canceled"
    assert run["note"] == ("Remote job runbridge-lost-put has ended (Canceled) after the orphan sweeper "
                           "cancelled it; nothing is left running.")


def test_a_foundry_run_whose_post_answer_was_lost_is_found_by_its_tag_and_cancelled(stack):
    # the POST makes the thread and the run, its answer is cut; then the thread list (where the run's tag is
    # looked for) stays down until the run gives up (startTimeout)
    down_after(stack, "foundry_agents", {"kind": "cut_body", "operation": "createThreadAndRun"}, "listThreads", 1)
    stack.post_run({**agent_request("lost-post", agent=SLOW_AGENT), "startTimeout": "PT3M"})
    run = stack.wait_run("lost-post", timeout=60)
    assert run["status"] == "Failed" and run["error"]["code"] == "SubmitFailed", run
    assert run["remoteRunId"] is None and run["remoteName"] == "runbridge.runId=lost-post"
    assert stack.sim_stats("foundry_agents")["activeRuns"] == 1
    run = swept_once_then_ended(stack, "foundry_agents", "lost-post")
    stats = stack.sim_stats("foundry_agents")
    assert stats["runsCreated"] == 1 and stats["activeRuns"] == 0 and stats["cancelsRequested"] == 1
    assert run["remoteStatus"] == "cancelled" and "after the orphan sweeper cancelled it" in run["note"]


def test_an_abacus_version_whose_answer_was_lost_is_found_by_its_variables_and_time_and_stopped(stack):
    # Abacus finds the version by variables and creation time (no tag: §6 gotcha 2), among the pipeline's
    # newest RECONCILE_LIMIT versions; it has no cancel, so the sweeper skips the pending steps
    down_after(stack, "abacus", {"kind": "gateway_200", "operation": "runPipeline"}, "listPipelineVersions", 1)
    stack.post_run(abacus_request("lost-run", startTimeout="PT3M"))
    run = stack.wait_run("lost-run", timeout=60)
    assert run["status"] == "Failed" and run["error"]["code"] == "SubmitFailed", run
    assert run["remoteRunId"] is None and run["remoteName"].startswith("pipeline simtrain01:")
    assert stack.sim_stats("abacus")["runningNow"] == 1
    run = swept_once_then_ended(stack, "abacus", "lost-run", cancels="skipsRequested")
    stats = stack.sim_stats("abacus")
    assert stats["remoteJobsCreated"] == 1 and stats["runningNow"] == 0 and stats["skipsRequested"] == 1
    assert run["remoteStatus"] == "SKIPPED" and "after the orphan sweeper cancelled it" in run["note"]


def test_a_submit_that_made_nothing_is_looked_for_once_and_said_so(stack):
    # the create never ran (a gateway 502), then the platform stays down: nothing to cancel
    down_after(stack, "azure_ml", {"kind": "gateway_502", "operation": "Jobs_CreateOrUpdate"}, "Jobs_Get", 3)
    stack.post_run(train_request("no-put", parameters=[], startTimeout="PT3M"))
    assert stack.wait_run("no-put", timeout=60)["error"]["code"] == "SubmitFailed"
    recover(stack, "azure_ml")
    sweep(stack)
    reads = stack.sim_stats("azure_ml")["requestsByOperation"]
    sweep(stack)  # settled: not looked for again
    stats = stack.sim_stats("azure_ml")
    assert stats["requestsByOperation"] == reads and stats["remoteJobsCreated"] == 0
    assert "the platform has none" in stack.get_run("no-put")["note"]
