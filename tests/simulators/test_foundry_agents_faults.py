"""Foundry Agent Service simulator under faults: 429 with Retry-After, 5xx in the AgentV1Error shape,
dropped and timed-out POSTs (why agent POSTs are never retried blind), and the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from simulators.faults import Fault, FaultKind
from simulators.foundry_agents import ECHO_AGENT
from tests.simulators import test_foundry_agents_api as api

foundry, project, make_project = api.foundry, api.project, api.make_project  # shared fixtures
ROOT = Path(__file__).resolve().parents[2]


def test_throttle_is_429_with_retry_after_and_retry_after_ms(project, foundry):
    foundry.faults.script(Fault(FaultKind.THROTTLE, "getRun", retry_after=5))
    run = project.start("hi")
    throttled = project.get(f"/threads/{run['thread_id']}/runs/{run['id']}")
    assert throttled.status_code == 429
    assert (throttled.headers["Retry-After"], throttled.headers["retry-after-ms"]) == ("5", "5000")
    error = throttled.json()["error"]
    assert set(error) == {"code", "message", "type", "param"}
    assert error["code"] == "TooManyRequests"
    assert project.status(run) == "queued"
    stats = project.stats()
    assert (stats["faultsByOperation"], stats["requestsByOperation"]["getRun"]) == ({"getRun": 1}, 2)


def test_server_errors_are_agent_v1_errors(project, foundry):
    foundry.faults.script(Fault(FaultKind.SERVER_ERROR), Fault(FaultKind.UNAVAILABLE, retry_after=2))
    failed = project.get("/assistants")
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "InternalServerError"
    unavailable = project.get("/assistants")
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "2")
    assert unavailable.json()["error"]["type"] == "server_error"
    assert project.get("/assistants").status_code == 200


def test_a_dropped_message_post_adds_nothing(project, foundry):
    thread = project.thread()
    foundry.faults.script(Fault(FaultKind.DROP, "createMessage"))
    with pytest.raises(requests.ConnectionError):
        project.post(f"/threads/{thread}/messages", {"role": "user", "content": "lost"})
    assert project.messages(thread) == []


def test_a_run_post_that_times_out_has_started_the_run_and_a_blind_retry_is_refused(project, foundry):
    # client items 4, 9, 10: a POST that timed out may have acted; look before posting again
    thread = project.thread("hello")
    foundry.faults.script(Fault(FaultKind.APPLY_THEN_TIMEOUT, "createRun", seconds=0.3))
    with pytest.raises(requests.ReadTimeout):
        project.post(f"/threads/{thread}/runs", {"assistant_id": ECHO_AGENT}, timeout=0.1)
    retry = project.post(f"/threads/{thread}/runs", {"assistant_id": ECHO_AGENT})
    assert retry.status_code == 400
    assert "already has an active run" in retry.json()["error"]["message"]
    (found,) = project.ok(project.get(f"/threads/{thread}/runs", limit=1))["data"]
    assert found["status"] == "queued"
    assert project.stats()["runsCreated"] == 1


def test_auth_is_checked_before_faults(project, foundry):
    foundry.faults.script(Fault(FaultKind.SERVER_ERROR))
    anonymous = requests.get(f"{project.base}/assistants", params={"api-version": "v1"})
    assert anonymous.status_code == 401
    assert project.stats()["faultsPending"] == 1


def test_cli_serves_the_foundry_simulator_in_its_own_process():
    command = [sys.executable, "-m", "simulators", "foundry_agents", "--port", "0", "--clock", "virtual"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("foundry_agents simulator listening on http://127.0.0.1:"), process.stderr.read()
        url = line.split()[-1]
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = "Bearer t"
        body = {"assistant_id": ECHO_AGENT, "thread": {"messages": [{"role": "user", "content": "ping"}]}}
        run = session.post(f"{url}/api/projects/sim-project/threads/runs", params={"api-version": "v1"}, json=body)
        assert run.status_code == 200
        session.post(f"{url}/_sim/clock", json={"seconds": 5})
        done = session.get(
            f"{url}/api/projects/sim-project/threads/{run.json()['thread_id']}/runs/{run.json()['id']}",
            params={"api-version": "v1"},
        )
        assert done.json()["status"] == "completed"
        stats = session.get(f"{url}/_sim/stats").json()
        assert (stats["runsCreated"], stats["activeRuns"], stats["agents"]) == (1, 0, 3)
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
