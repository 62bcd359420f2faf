"""The function key: from --key-file or RUNBRIDGE_KEY, sent as x-functions-key, never printed, never taken
from an option value (a process listing would show it; tests/cli/test_signals.py checks the listing)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devhost.http_server import HttpFrontDoor
from runbridge_cli.outcome import ExitCode

from .conftest import run_cli

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


class _Echo(BaseHTTPRequestHandler):
    """A server that quotes the key back in its error: the command must still not print it."""

    def do_GET(self) -> None:
        given = self.headers.get("x-functions-key")
        body = json.dumps({"error": {"code": "Denied", "message": f"bad key {given}", "field": given}}).encode()
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_answer_that_quotes_the_key_is_printed_with_the_key_cut_out():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = run_cli("status", "x", url=f"http://127.0.0.1:{server.server_address[1]}",
                         environ={"RUNBRIDGE_KEY": KEY})
    finally:
        server.shutdown()
        server.server_close()
    assert result.code == ExitCode.REFUSED and "bad key ***" in result.err and KEY not in result.err
