"""Run truth over whole lives (issue 18 item 1): runs of every job type through submit, a busy wait,
continue-as-new, cancel, timeout and a host restart never read backwards.

Two readers watch at once: every state the host commits is read as the API reads it (tests/support/
run_truth.py, nothing skipped however brief), and a thread samples `GET /api/runs/{id}` over HTTP every few
milliseconds (the path a scheduler takes, the sweeper's note included). The SIGKILL variant of the restart is
in test_crash.py, which samples the same way.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import requests

from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor
from tests.e2e.conftest import ROOT, TERMINAL
from tests.e2e.test_foundry_agent_runs import waiting_request
from tests.support.run_truth import RecordWatcher, Sampler, check_run_truth

from .support import request_for

RUNS = {  # run id -> (catalog kind, extra request fields)
    "truth-aml-long": ("aml-long", {"timeout": "PT12H"}),  # continues as new every 30 polls
    "truth-aml-train": ("aml-train", {}),
    "truth-aml-fail": ("aml-fail", {}),
    "truth-aml-timeout": ("aml-long", {"timeout": "PT20M"}),  # cancelled at its deadline
    "truth-aml-cancel": ("aml-train", {}),  # cancelled on request below
    "truth-agent-echo": ("agent-echo", {}),
    "truth-agent-slow": ("agent-slow", {}),
    "truth-abacus-train": ("abacus-train", {}),
    "truth-abacus-fail": ("abacus-fail", {}),
}


def test_no_run_of_any_job_type_reads_backwards_through_its_whole_life(stack, tmp_path):
    watcher = RecordWatcher(stack.host, stack.front.management)
    stack.pause_at(timedelta(minutes=1))
    for index, (run_id, (kind, extra)) in enumerate(RUNS.items()):
        assert stack.post_run({**request_for(kind, run_id, index), **extra}).status_code == 202
    stack.host.wait_idle()
    thread = stack.get_run("truth-agent-slow")["outputs"]["thread_id"]
    assert stack.post_run(waiting_request("truth-agent-wait", thread)).status_code == 202  # waits ~9 min
    run_ids = [*RUNS, "truth-agent-wait"]
    sampler = Sampler(stack.front.base_url, run_ids)
    sampler.start()
    stack.pause_at(timedelta(minutes=8))
    stack.host.wait_idle()
    assert requests.post(f"{stack.api}/runs/truth-aml-cancel/cancel", timeout=10).status_code == 202
    stack.pause_at(timedelta(minutes=32))  # between two of the orphan sweeper's ticks
    stack.host.wait_idle()
    sampler.held.set()
    time.sleep(0.1)  # a sample in flight ends (devhost's stop does not end calls in flight on its loop)
    restarted = restart(stack, tmp_path)  # the host goes down mid-flight and comes back on its store
    second = RecordWatcher(restarted.host, restarted.front.management)
    sampler.base = restarted.front.base_url
    sampler.held.clear()
    try:
        restarted.host.set_time_limit(None)
        ended = {run_id: wait_ended(restarted, run_id) for run_id in run_ids}
    finally:
        sampler.done.set()
        sampler.join(10)
    assert ended["truth-aml-cancel"]["status"] == "Cancelled"
    assert ended["truth-aml-timeout"]["error"]["code"] == "Timeout"
    assert ended["truth-aml-long"]["polls"] > 30 and ended["truth-agent-wait"]["status"] == "Success"
    for run_id in run_ids:
        check_run_truth(watcher.records[run_id] + second.records[run_id])
        assert len(sampler.records[run_id]) > 1
        check_run_truth(sampler.records[run_id])


class Restarted:
    def __init__(self, host: DevHost, front: HttpFrontDoor) -> None:
        self.host, self.front = host, front


def restart(stack: Any, tmp_path: Any) -> Restarted:
    """Stop the stack's host and start a new one on the same store and clock (time held where it is)."""
    limit = stack.clock.now()
    stack.front.stop()
    stack.host.stop()
    host = DevHost(ROOT, db_path=str(tmp_path / "devhost.sqlite"), clock=stack.clock)
    host.set_time_limit(limit)
    front = HttpFrontDoor(host, port=0)
    host.start()
    front.start()
    stack.host, stack.front = host, front  # the fixture's teardown stops these
    return Restarted(host, front)


def wait_ended(restarted: Restarted, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = requests.get(f"{restarted.front.base_url}/api/runs/{run_id}", timeout=10).json()
        if run.get("status") in TERMINAL and restarted.host.get(run_id).status != "Running":
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")
