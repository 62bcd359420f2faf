"""Cancel on kill: `runbridge` as a real child process, signalled while it waits (devhost's virtual time held
at a point of the run, so each step is certain). SIGTERM cancels the remote job; a second signal exits at
once; --detach-on-interrupt leaves the run going. The key stays out of the process listing."""

from __future__ import annotations

import json
import signal
from datetime import timedelta
from pathlib import Path

from devhost.http_server import HttpFrontDoor
from runbridge_cli.outcome import ExitCode

from .conftest import FAST

LONG = ["run", "azureml_pipeline", "azureml-sim", "long-pipeline", "--wait", *FAST]
KEY = "k3y-0f-the-functi0n-app-DO-NOT-PRINT"


def test_sigterm_during_a_long_pipeline_cancels_it_and_leaves_no_remote_job_running(stack, cli_process):
    stack.pause_at(timedelta(hours=1))  # six hours of Running: an hour in, time holds
    cli = cli_process(*LONG, "--run-id", "killed-1", "--url", stack.front.base_url)
    cli.wait_for_line("run killed-1: Running")
    assert stack.sim_stats("azure_ml")["runningNow"] == 1
    cli.proc.send_signal(signal.SIGTERM)
    cli.wait_for_line("cancel sent for run killed-1")
    stack.resume()  # the platform confirms the cancel
    code, out, err = cli.finish()
    assert code == ExitCode.CANCELLED, err
    assert "run killed-1: Cancelled" in err and out == ""
    stats = stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1 and stats["cancelsRequested"] == 1 and stats["runningNow"] == 0
    assert stack.get_run("killed-1")["status"] == "Cancelled"


def test_a_second_signal_exits_at_once_saying_the_cancel_was_sent(stack, cli_process):
    stack.pause_at(timedelta(hours=1))
    cli = cli_process(*LONG, "--run-id", "killed-2", "--url", stack.front.base_url)
    cli.wait_for_line("run killed-2: Running")
    cli.proc.send_signal(signal.SIGINT)
    cli.wait_for_line("cancel sent for run killed-2")
    cli.proc.send_signal(signal.SIGINT)  # time still holds: the run has not confirmed the cancel
    code, _, err = cli.finish(timeout=10)
    assert code == ExitCode.CANCELLED
    assert "second signal (SIGINT): exiting now; the cancel of run killed-2 was sent" in err
    stack.resume()
    assert stack.wait_run("killed-2")["status"] == "Cancelled"
    assert stack.sim_stats("azure_ml")["runningNow"] == 0


def test_detach_on_interrupt_leaves_the_run_going_and_the_key_never_shows_in_the_process_listing(
        stack, cli_process, tmp_path):
    keyed = HttpFrontDoor(stack.host, port=0, function_key=KEY).start()
    try:
        stack.pause_at(timedelta(hours=1))
        started = cli_process("run", "azureml_pipeline", "azureml-sim", "long-pipeline", "--run-id", "detached-1",
                              "--url", keyed.base_url, environ={"RUNBRIDGE_KEY": KEY})
        assert started.finish()[0] == ExitCode.SUCCESS
        key_file = tmp_path / "key"
        key_file.write_text(KEY + "\n")
        cli = cli_process("wait", "detached-1", "--detach-on-interrupt", "--key-file", str(key_file), *FAST,
                          "--url", keyed.base_url)
        cli.wait_for_line("run detached-1: Running")
        listing = Path(f"/proc/{cli.proc.pid}/cmdline").read_bytes().decode()
        assert str(key_file) in listing and KEY not in listing
        cli.proc.send_signal(signal.SIGTERM)
        code, out, err = cli.finish()
        assert code == ExitCode.GAVE_UP and "run detached-1 goes on (--detach-on-interrupt)" in err
        assert KEY not in out + err + "".join(started.lines)
        assert stack.get_run("detached-1")["status"] == "Running"
        assert stack.sim_stats("azure_ml")["cancelsRequested"] == 0
    finally:
        keyed.stop()


def test_sigterm_during_a_chain_cancels_the_chain_and_its_running_step(stack, cli_process, tmp_path):
    step = {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "long-pipeline"}
    chain = tmp_path / "chain.json"
    chain.write_text(json.dumps({"steps": [{**step, "name": "one"}, {**step, "name": "two"}]}))
    stack.pause_at(timedelta(hours=1))
    cli = cli_process("chain", str(chain), "--chain-id", "killed-chain", "--wait", *FAST,
                      "--url", stack.front.base_url)
    cli.wait_for_line("[one Running, two NotRun]")
    cli.proc.send_signal(signal.SIGTERM)
    cli.wait_for_line("cancel sent for chain killed-chain")
    stack.resume()
    code, _, err = cli.finish()
    assert code == ExitCode.CANCELLED, err
    assert "chain killed-chain: Cancelled" in err
    stats = stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1 and stats["runningNow"] == 0
