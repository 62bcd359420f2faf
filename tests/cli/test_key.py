"""The function key: from --key-file or RUNBRIDGE_KEY, sent as x-functions-key, never printed, never taken
from an option value (a process listing would show it; tests/cli/test_signals.py checks the listing)."""

from __future__ import annotations

import json

import pytest

from devhost.http_server import HttpFrontDoor
from runbridge_cli.outcome import ExitCode

from .conftest import run_cli, stub_server

KEY = "k3y-0f-the-functi0n-app-DO-NOT-PRINT"


@pytest.fixture
def keyed(stack):
    front = HttpFrontDoor(stack.host, port=0, function_key=KEY).start()
    try:
        yield front.base_url
    finally:
        front.stop()


def test_the_key_from_the_environment_or_a_file_is_sent_and_never_printed(keyed, tmp_path):
    result = run_cli("connections", url=keyed, environ={"RUNBRIDGE_KEY": KEY})
    assert result.code == ExitCode.SUCCESS and "azureml-sim" in result.out
    key_file = tmp_path / "runbridge.key"
    key_file.write_text(KEY + "\n")
    started = run_cli("run", "azureml_pipeline", "azureml-sim", "train-pipeline", "--key-file", str(key_file),
                      "--json", url=keyed)
    assert started.code == ExitCode.SUCCESS and KEY not in started.out + started.err


def test_a_missing_or_wrong_key_is_refused_with_4_and_the_key_is_not_echoed(keyed, tmp_path):
    missing = run_cli("connections", url=keyed)
    assert missing.code == ExitCode.REFUSED and "HTTP 401" in missing.err
    wrong = run_cli("connections", url=keyed, environ={"RUNBRIDGE_KEY": KEY[::-1]})
    assert wrong.code == ExitCode.REFUSED and KEY[::-1] not in wrong.err + wrong.out
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert run_cli("connections", "--key-file", str(empty), url=keyed).code == ExitCode.REFUSED


def test_a_key_on_the_command_line_is_refused_without_echoing_it():
    for argv in (["connections", "--key", KEY], ["--key", KEY, "connections"], ["status", "x", f"--key={KEY}"]):
        result = run_cli(*argv)
        assert result.code == ExitCode.REFUSED and "RUNBRIDGE_KEY" in result.err
        assert KEY not in result.err + result.out


def test_an_answer_that_quotes_the_key_is_printed_with_the_key_cut_out():
    def quote_the_key(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        given = headers.get("x-functions-key")
        error = {"code": "Denied", "message": f"bad key {given}", "field": given}
        return 403, {}, json.dumps({"error": error}).encode()

    with stub_server(quote_the_key) as (url, received):
        result = run_cli("status", "x", url=url, environ={"RUNBRIDGE_KEY": KEY})
    assert received[0]["x-functions-key"] == KEY
    assert result.code == ExitCode.REFUSED and "bad key ***" in result.err and KEY not in result.err
