"""Every exit code of `runbridge`, against devhost and the simulators (the command in this process, its own
time skipped): 0 Success, 1 Failed, 2 Cancelled, 3 gave up, 4 refused, 5 unreachable."""

from __future__ import annotations

import json
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from runbridge_cli.outcome import ExitCode

from .conftest import FAST, run_cli, stub_server

TRAIN = ["run", "azureml_pipeline", "azureml-sim", "train-pipeline", "-p", "learning_rate=0.05",
         "--output", "model_uri", "--output", "accuracy"]
STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ run ", re.MULTILINE)


def test_a_run_that_succeeds_exits_0_with_its_outputs_on_stdout_and_each_change_on_stderr(cli, stack):
    result = cli(*TRAIN, "--run-id", "ok-1", "--wait", *FAST)
    assert result.code == ExitCode.SUCCESS, result.err
    outputs = dict(line.split("=", 1) for line in result.out.splitlines())
    assert outputs == stack.get_run("ok-1")["outputs"] and set(outputs) == {"model_uri", "accuracy"}
    changes = [line for line in result.err.splitlines() if STAMPED.match(line) and "run ok-1: " in line]
    assert len(changes) >= 2 and changes[-1].endswith("run ok-1: Success (remote Completed)"), result.err
    assert len(set(changes)) == len(changes)  # each change once, each with its time
    sent = {p["name"]: p.get("value") for p in stack.get_run("ok-1")["parameters"]}
    assert sent["learning_rate"] == "0.05"  # values kept as strings


def test_json_prints_the_whole_record(cli, stack):
    result = cli(*TRAIN, "--run-id", "ok-json", "--wait", "--json", *FAST)
    assert result.code == ExitCode.SUCCESS
    assert json.loads(result.out) == stack.get_run("ok-json")


def test_a_failed_run_exits_1_with_the_remote_error_on_stderr(cli):
    result = cli("run", "azureml_pipeline", "azureml-sim", "failing-pipeline", "--wait", *FAST)
    assert result.code == ExitCode.FAILED, result.err
    assert "Failed" in result.err and "RemoteFailed" in result.err
    assert result.out == ""


def test_a_cancelled_run_exits_2_and_its_remote_job_is_cancelled(cli, stack):
    stack.pause_at(timedelta(hours=1))
    assert cli("run", "azureml_pipeline", "azureml-sim", "long-pipeline", "--run-id", "long-1").code == 0
    stack.host.wait_idle()
    assert cli("status", "long-1").code == ExitCode.GAVE_UP  # one look: not ended yet
    with ThreadPoolExecutor(1) as pool:  # time holds until the cancel has reached the platform
        cancelling = pool.submit(cli, "cancel", "long-1", "--wait", *FAST)
        deadline = time.monotonic() + 20
        while stack.sim_stats("azure_ml")["cancelsRequested"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        stack.resume()
        result = cancelling.result(30)
    assert result.code == ExitCode.CANCELLED, result.err
    assert "cancel sent for run long-1" in result.err
    stats = stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1 and stats["runningNow"] == 0 and stats["cancelsRequested"] == 1
    assert cli("status", "long-1").code == ExitCode.CANCELLED


def test_max_wait_gives_up_with_3_and_leaves_the_run_going(cli, stack):
    stack.pause_at(timedelta(minutes=10))
    result = cli(*TRAIN, "--run-id", "slow-1", "--wait", "--max-wait", "10m")
    assert result.code == ExitCode.GAVE_UP, result.err
    assert "--max-wait" in result.err and result.out == ""
    assert sum(result.clock.sleeps) == pytest.approx(600)  # its own time: exactly the ten minutes, never past them
    assert stack.get_run("slow-1")["status"] in ("Starting", "Running")
    stack.resume()
    assert cli("wait", "slow-1", *FAST).code == ExitCode.SUCCESS  # waiting again picks it up


def test_following_backs_off_like_the_apps_poll_policy_and_honours_retry_after(cli, stack):
    stack.pause_at(timedelta(minutes=1))  # Queued for ~2 minutes: nothing changes while it waits
    result = cli(*TRAIN, "--run-id", "backoff-1", "--wait", "--max-wait", "5m", "--poll-interval", "1",
                 "--max-poll-interval", "20")
    assert result.code == ExitCode.GAVE_UP
    sleeps = result.clock.sleeps
    assert sleeps[0] == 5  # the start's 202 says Retry-After: 5, over the first interval of 1 s
    unchanged = 0  # then 1, 1.5, 2.25... up to 20, less up to 20% jitter, from 1 again after a change
    for wait in sleeps[1:-1]:
        unchanged = 0 if wait <= 1 else unchanged + 1
        assert 0.8 * min(20, 1.5 ** unchanged) <= wait <= min(20, 1.5 ** unchanged), sleeps
    assert sum(wait <= 1 for wait in sleeps) <= 2 and max(sleeps) > 16  # the remote Queued: one change at most
    assert sum(sleeps) == pytest.approx(300) and len(sleeps) < 40  # the last wait ends at --max-wait; 1 s polling: 300
    stack.resume()


def test_a_refused_request_exits_4_with_the_field_it_names(cli, stack):
    result = cli("run", "azureml_pipeline", "no-such-connection", "train-pipeline", "--wait")
    assert result.code == ExitCode.REFUSED
    assert "HTTP 400" in result.err and "connection" in result.err
    assert cli("status", "nobody").code == ExitCode.REFUSED
    assert cli(*TRAIN, "--run-id", "same-1").code == 0
    conflict = cli("run", "azureml_pipeline", "azureml-sim", "train-pipeline", "--run-id", "same-1")
    assert conflict.code == ExitCode.REFUSED and "409" in conflict.err and "runId" in conflict.err
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] <= 1


def test_a_wrong_command_line_exits_4_not_argparses_2():
    assert run_cli("run", "azureml_pipeline").code == ExitCode.REFUSED
    assert run_cli("run", "a", "b", "c", "-p", "no-equals-sign").code == ExitCode.REFUSED
    assert run_cli("wait", "x", "--max-wait", "soon").code == ExitCode.REFUSED
    assert run_cli("frobnicate").code == ExitCode.REFUSED


def test_an_unreachable_runbridge_exits_5_after_retries_with_backoff():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli("status", "any", url=f"http://127.0.0.1:{port}")
    assert result.code == ExitCode.UNREACHABLE
    assert "gave up after 6 tries: runbridge unreachable (ConnectionError)" in result.err
    assert result.clock.sleeps == [1, 2, 4, 8, 16]


def test_a_5xx_is_retried_honouring_retry_after_then_exits_5():
    body = json.dumps({"error": {"code": "Busy", "message": "try later"}}).encode()
    with stub_server(lambda headers: (503, {"Retry-After": "7"}, body)) as (url, received):
        result = run_cli("connections", url=url)
    assert result.code == ExitCode.UNREACHABLE
    assert len(received) == 6 and "after 6 tries: runbridge answered HTTP 503" in result.err and "Busy" in result.err
    assert result.clock.sleeps == [7, 7, 7, 8, 16]  # Retry-After is a floor under the backoff


def test_a_platform_refusing_the_connection_is_a_refusal_exit_4_not_retried():
    body = json.dumps({"error": {"code": "AuthenticationFailed", "message": "Connection ml could not get a token",
                                 "field": "connection", "hint": "set CONNECTIONS__ml__clientId"}}).encode()
    with stub_server(lambda headers: (502, {}, body)) as (url, received):
        result = run_cli("run", "azureml_pipeline", "ml", "t", url=url)
    assert result.code == ExitCode.REFUSED and len(received) == 1, result.err
    assert "AuthenticationFailed" in result.err and result.clock.sleeps == []


def test_a_web_page_where_runbridge_should_be_exits_5_at_once():
    with stub_server(lambda headers: (200, {"Content-Type": "text/html"}, b"<html>welcome</html>")) as (url, _):
        result = run_cli("status", "x", url=url)
    assert result.code == ExitCode.UNREACHABLE and "without a JSON object" in result.err


def test_only_an_ended_status_ends_the_wait_not_an_end_time():
    from runbridge_cli.outcome import exit_code_for, has_ended

    reading_outputs = {"status": "Running", "remoteStatus": "Completed", "endedAt": "2026-03-01T00:00:00Z"}
    assert not has_ended(reading_outputs) and exit_code_for(reading_outputs) == ExitCode.GAVE_UP
    assert [exit_code_for({"status": s}) for s in ("Success", "Failed", "Cancelled", "Running", "Unknown")] == [
        0, 1, 2, 3, 3]
