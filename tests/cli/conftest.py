"""The command line against the whole stack: the e2e stack (devhost + simulators on one virtual clock) and
the command from the source tree, in this process (`cli`) or as a real subprocess (`cli_process`), as a
scheduler host runs it after `pip install ./cli` (tests/cli/test_package.py installs it that way too)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.conftest import stack  # noqa: F401  (the fixture, shared)

CLI_ROOT = Path(__file__).resolve().parent.parent.parent / "cli"
if str(CLI_ROOT) not in sys.path:
    sys.path.insert(0, str(CLI_ROOT))

from runbridge_cli.clock import Clock  # noqa: E402
from runbridge_cli.main import run  # noqa: E402

# Fast following for tests: the server's virtual clock runs hours in real milliseconds.
FAST = ["--poll-interval", "0.05", "--max-poll-interval", "0.2"]


class FastClock(Clock):
    """The command's own time, skipped: each sleep advances it by the full wait but sleeps only a moment
    (the stack's virtual clock moves meanwhile). `sleeps` records every wait the command asked for."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        time.sleep(0.005)


@dataclass
class Result:
    code: int
    out: str
    err: str
    clock: FastClock = field(default_factory=FastClock)


def run_cli(*argv: str, url: str | None = None, environ: dict[str, str] | None = None) -> Result:
    """One command line in this process, its time skipped; the exit code and what it printed."""
    out, err, clock = io.StringIO(), io.StringIO(), FastClock()
    args = list(argv) if url is None else [*argv, "--url", url]
    code = run(args, environ=environ or {}, out=out, err=err, clock=clock)
    return Result(code, out.getvalue(), err.getvalue(), clock)


@pytest.fixture
def cli(stack):  # noqa: F811
    """run_cli against the stack's HTTP API."""
    return lambda *argv, **kw: run_cli(*argv, url=stack.front.base_url, **kw)


class CliProcess:
    """`python -m runbridge_cli ...` as a child process, its stderr read line by line as it comes."""

    def __init__(self, argv: list[str], environ: dict[str, str]) -> None:
        env = {**os.environ, **environ, "PYTHONPATH": str(CLI_ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "runbridge_cli", *argv], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=CLI_ROOT.parent)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for_line(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, f"exited {self.proc.returncode}: {''.join(self.lines)}"
            assert time.monotonic() < deadline, f"no {text!r} in: {''.join(self.lines)}"
            time.sleep(0.02)

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        out = self.proc.stdout.read() if self.proc.stdout else ""
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code, out, "".join(self.lines)


@pytest.fixture
def cli_process():
    started: list[CliProcess] = []

    def start(*argv: str, environ: dict[str, str] | None = None) -> CliProcess:
        process = CliProcess(list(argv), environ or {})
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(5)


@contextmanager
def stub_server(answer: Callable[[dict[str, str]], tuple[int, dict[str, str], bytes]]) -> Iterator[tuple[str, list]]:
    """A loopback HTTP server that is not runbridge: `answer(request headers)` gives each answer. Yields its
    URL and the list of request headers it received."""
    received: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            received.append(headers)
            status, extra, body = answer(headers)
            self.send_response(status)
            for name, value in {**extra, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
