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
from tests.e2e.conftest import train_request
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


def swept_once_then_ended(stack, platform: str, run_id: str) -> dict:
    """Sweep (the job is found and cancelled), sweep again (asked already: not again), let it end, sweep:
    the run's record as GET /api/runs/{id} shows it then."""
    recover(stack, platform)
    sweep(stack)
    assert stack.sim_stats(platform)["cancelsRequested"] == 1
    assert "asked the platform to cancel" in stack.get_run(run_id)["note"]
    sweep(stack)
    assert stack.sim_stats(platform)["cancelsRequested"] == 1
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
