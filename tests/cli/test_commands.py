"""The other verbs and restart-safety: the same --run-id twice is one remote job; discovery follows every
page; a chain from a file runs to its end; history prints the timeline."""

from __future__ import annotations

import json
from datetime import timedelta

import requests

from runbridge_cli import commands
from runbridge_cli.api import Api
from runbridge_cli.outcome import ExitCode

from .conftest import FAST

LONG = ["run", "azureml_pipeline", "azureml-sim", "train-pipeline", "--output", "model_uri"]


def test_the_same_run_id_twice_attaches_to_the_one_run_and_makes_one_remote_job(cli, stack):
    stack.pause_at(timedelta(minutes=5))
    first = cli(*LONG, "--run-id", "nightly-2026-03-01")
    assert first.code == ExitCode.SUCCESS and first.out.strip() == "nightly-2026-03-01"
    assert "started" in first.err
    # the scheduler host restarts and runs the same command line again while the run is live
    again = cli(*LONG, "--run-id", "nightly-2026-03-01", "--wait", "--max-wait", "1m")
    assert again.code == ExitCode.GAVE_UP and "already exists: attached to it" in again.err
    stack.resume()
    waited = cli(*LONG, "--run-id", "nightly-2026-03-01", "--wait", *FAST)
    assert waited.code == ExitCode.SUCCESS, waited.err
    assert "already exists: attached to it" in waited.err and "model_uri=" in waited.out
    once_more = cli(*LONG, "--run-id", "nightly-2026-03-01", "--wait", *FAST)  # after its end: its outcome
    assert once_more.code == ExitCode.SUCCESS and once_more.out == waited.out
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1


def test_without_a_run_id_each_start_is_still_retry_safe(cli, stack):
    result = cli(*LONG)
    run_id = result.out.strip()
    assert result.code == 0 and stack.get_run(run_id)["job"] == "train-pipeline"  # the command made the id


def test_inout_and_agent_outputs(cli, stack):
    result = cli("run", "foundry_agent", "foundry-sim", "asst_echo00000000000000000000", "-p", "user_message=hi",
                 "--inout", "thread_id", "--output", "response", "--wait", *FAST)
    assert result.code == ExitCode.SUCCESS, result.err
    outputs = dict(line.split("=", 1) for line in result.out.splitlines())
    assert outputs["response"].startswith("You said: hi") and outputs["thread_id"]
    follow_up = cli("run", "foundry_agent", "foundry-sim", "asst_echo00000000000000000000", "-p",
                    "user_message=again", "--inout", f"thread_id={outputs['thread_id']}", "--output", "response",
                    "--wait", *FAST)
    assert "message 3 in this thread" in follow_up.out or "message 2" in follow_up.out, follow_up.out


def test_jobs_follows_every_page(cli, stack, monkeypatch):
    monkeypatch.setattr(commands, "JOBS_PAGE_SIZE", 1)
    pages: list[dict] = []
    call = Api.call

    def counted(self, method, path, **kw):
        pages.append(kw.get("params") or {})
        return call(self, method, path, **kw)

    monkeypatch.setattr(Api, "call", counted)
    result = cli("jobs", "azureml-sim", "--json")
    assert result.code == ExitCode.SUCCESS, result.err
    listed = [job["job"] for job in json.loads(result.out)["jobs"]]
    assert {"train-pipeline", "failing-pipeline", "long-pipeline"} <= set(listed) and len(listed) == len(set(listed))
    assert len(pages) >= 2 and all(p["pageSize"] == "1" for p in pages)  # small pages: several of them
    assert "page" not in pages[0] and all(p["page"] for p in pages[1:])
    plain = cli("jobs", "azureml-sim")
    assert any(line.startswith("train-pipeline\t") and "learning_rate" in line for line in plain.out.splitlines())
    assert cli("jobs", "nope").code == ExitCode.REFUSED


def test_connections_and_history(cli, stack):
    result = cli("connections")
    assert result.code == 0
    assert "azureml-sim\tazure_ml\tazureml_pipeline" in result.out.splitlines()
    assert cli(*LONG, "--run-id", "hist-1", "--wait", *FAST).code == 0
    history = cli("history", "hist-1")
    kinds = [line.split("\t")[1] for line in history.out.splitlines()]
    assert history.code == 0 and kinds[0] == "started" and "submitted" in kinds and kinds[-1] == "ended"
    assert json.loads(cli("history", "hist-1", "--json").out)["id"] == "hist-1"
    status = cli("status", "hist-1")
    assert status.code == ExitCode.SUCCESS and "status=Success" in status.out and "outputs.model_uri=" in status.out


def test_a_chain_from_a_file_runs_to_its_end_and_prints_each_steps_outputs(cli, stack, tmp_path):
    step = {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline",
            "parameters": [{"name": "model_uri", "direction": "Output"}]}
    second = {**step, "name": "second",
              "parameters": [{"name": "learning_rate", "direction": "Input",
                              "value": {"from": "first", "output": "model_uri"}},
                             {"name": "model_uri", "direction": "Output"}]}
    path = tmp_path / "chain.json"
    path.write_text(json.dumps({"steps": [{**step, "name": "first"}, second]}))
    result = cli("chain", str(path), "--chain-id", "cli-chain-1", "--wait", *FAST)
    assert result.code == ExitCode.SUCCESS, result.err
    lines = dict(line.split("=", 1) for line in result.out.splitlines())
    assert {"first.model_uri", "second.model_uri"} <= set(lines)
    assert "chain cli-chain-1: Success [first Success, second Success]" in result.err
    again = cli("chain", str(path), "--chain-id", "cli-chain-1", "--wait", *FAST)
    assert again.code == ExitCode.SUCCESS and "attached" in again.err
    assert stack.sim_stats("azure_ml")["remoteJobsCreated"] == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"steps": []}))
    refused = cli("chain", str(bad))
    assert refused.code == ExitCode.REFUSED and "steps" in refused.err
    assert cli("chain", str(tmp_path / "missing.json")).code == ExitCode.REFUSED


def test_cancel_of_an_ended_run_is_refused_with_4(cli, stack):
    assert cli(*LONG, "--run-id", "done-1", "--wait", *FAST).code == 0
    result = cli("cancel", "done-1")
    assert result.code == ExitCode.REFUSED and "409" in result.err and "already ended" in result.err
    assert requests.get(f"{stack.api}/runs/done-1", timeout=10).json()["status"] == "Success"
