"""The `runbridge` command: parse the command line, find runbridge and its key, run one subcommand.

Where: --url or RUNBRIDGE_URL (default the local devhost, http://127.0.0.1:7071). The function key comes
from --key-file or RUNBRIDGE_KEY only, never from an option value, so it never shows in a process listing;
it is sent as `x-functions-key` and cut out of everything printed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn, TextIO

from runbridge_cli import __version__
from runbridge_cli.api import Api, Refused, Unreachable
from runbridge_cli.clock import Clock
from runbridge_cli.commands import (
    Context,
    UsageError,
    cmd_cancel,
    cmd_chain,
    cmd_connections,
    cmd_history,
    cmd_jobs,
    cmd_run,
    cmd_status,
    cmd_wait,
)
from runbridge_cli.interrupts import Interrupts
from runbridge_cli.outcome import ExitCode
from runbridge_cli.report import Reporter

DEFAULT_URL = "http://127.0.0.1:7071"
EXIT_CODES = """exit codes: 0 Success, 1 Failed, 2 Cancelled (also: cancelled on a signal), 3 the wait gave up
(--max-wait, --detach-on-interrupt) or the run ended Unknown (`status`: the run has not ended), 4 the request
was refused (the API's error is printed with the field it names; also a wrong command line), 5 runbridge
unreachable or 5xx after retries."""
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", re.IGNORECASE)
_ISO_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?",
                           re.IGNORECASE)


def seconds(text: str) -> float:
    """A duration option: seconds (`90`), with units (`90s`, `15m`, `2h`, `1h30m`) or ISO 8601 (`PT2H`)."""
    text = text.strip()
    iso = _ISO_DURATION.fullmatch(text)
    if iso and text.upper() not in ("P", "PT"):
        days, hours, minutes, secs = (float(part or 0) for part in iso.groups())
        return days * 86400 + hours * 3600 + minutes * 60 + secs
    plain = _DURATION.fullmatch(text)
    if text and plain:
        hours, minutes, secs = (float(part or 0) for part in plain.groups())
        return hours * 3600 + minutes * 60 + secs
    raise argparse.ArgumentTypeError(f"not a duration: {text!r} (say 90, 90s, 15m, 2h or PT2H)")


def positive_seconds(text: str) -> float:
    value = seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than zero: {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but a wrong command line exits 4 (refused), not argparse's 2 (which means Cancelled here)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(message)


class _NoKeyOption(argparse.Action):
    """`--key VALUE` is refused without echoing VALUE: a key on a command line shows in a process listing."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        raise UsageError("the key is never taken on the command line (a process listing would show it): "
                         "use --key-file FILE or the RUNBRIDGE_KEY environment variable")


def _where(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--url", default=default, help="runbridge's address (default: $RUNBRIDGE_URL, "
                        f"else {DEFAULT_URL})")
    parser.add_argument("--key-file", default=default, help="a file holding the function key (default: "
                        "$RUNBRIDGE_KEY); the key is sent as x-functions-key and never printed")
    parser.add_argument("--key", nargs="?", action=_NoKeyOption, help=argparse.SUPPRESS)


def _following(parser: argparse.ArgumentParser, cancels_on_signal: bool = True) -> None:
    parser.add_argument("--max-wait", type=seconds, default=None,
                        help="give up waiting after this long (exit 3; the run goes on)")
    if cancels_on_signal:
        parser.add_argument("--cancel-grace", type=seconds, default=120.0,
                            help="after a signal's cancel, wait this long for the run to end (default 2m), "
                                 "then exit 2")
        parser.add_argument("--detach-on-interrupt", action="store_true",
                            help="on SIGINT/SIGTERM leave the run going and exit 3 instead of cancelling it")
    parser.add_argument("--poll-interval", type=positive_seconds, default=5.0,
                        help="the first wait between two reads of the run (default 5s; it grows while nothing "
                             "changes)")
    parser.add_argument("--max-poll-interval", type=positive_seconds, default=60.0,
                        help="the longest wait between two reads (default 60s; Retry-After hints up to it)")
    parser.add_argument("--json", action="store_true", help="print the whole record as JSON on stdout")


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per verb, the same --url/--key-file on all of them."""
    parser = _Parser(prog="runbridge", allow_abbrev=False, epilog=EXIT_CODES,
                     description="Start, follow and cancel runbridge runs from a scheduler; the exit code is the "
                                 "run's outcome.")
    parser.add_argument("--version", action="version", version=f"runbridge-cli {__version__}")
    _where(parser, None)
    where = _Parser(add_help=False, allow_abbrev=False)
    _where(where, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command", parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[where], help=help_text, description=help_text,
                                   epilog=EXIT_CODES, allow_abbrev=False)

    run = command("run", "start a run; with --wait follow it to its end and exit with its outcome")
    run.add_argument("job_type", metavar="jobType")
    run.add_argument("connection")
    run.add_argument("job")
    run.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="an Input parameter")
    run.add_argument("--output", action="append", metavar="NAME", help="an Output parameter to write back")
    run.add_argument("--inout", action="append", metavar="NAME[=VALUE]", help="an InputOutput parameter")
    run.add_argument("--run-id", help="the run's id: the same command again attaches to that run (restart-safe)")
    run.add_argument("--timeout", help="how long the run may run, ISO 8601 (PT6H)")
    run.add_argument("--start-timeout", help="how long the run may queue, ISO 8601 (PT1H)")
    run.add_argument("--wait", action="store_true", help="follow the run to its end")
    _following(run)
    run.set_defaults(handler=cmd_run)

    wait = command("wait", "follow a run to its end and exit with its outcome")
    wait.add_argument("id")
    _following(wait)
    wait.set_defaults(handler=cmd_wait)

    status = command("status", "one look at a run (exit code as `wait --max-wait 0`)")
    status.add_argument("id")
    status.add_argument("--json", action="store_true", help="print the whole record as JSON")
    status.set_defaults(handler=cmd_status)

    cancel = command("cancel", "cancel a run; with --wait follow it to its end")
    cancel.add_argument("id")
    cancel.add_argument("--wait", action="store_true", help="follow the run to its end (a signal stops the wait)")
    _following(cancel, cancels_on_signal=False)
    cancel.set_defaults(handler=cmd_cancel)

    history = command("history", "a run's timeline (--json: its whole event log)")
    history.add_argument("id")
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=cmd_history)

    connections = command("connections", "the connections runbridge has, with their job types")
    connections.add_argument("--json", action="store_true")
    connections.set_defaults(handler=cmd_connections)

    jobs = command("jobs", "what a connection can run, with parameters (every page)")
    jobs.add_argument("connection")
    jobs.add_argument("--json", action="store_true")
    jobs.set_defaults(handler=cmd_jobs)

    chain = command("chain", "start a chain of runs from a JSON file; with --wait follow it to its end")
    chain.add_argument("file")
    chain.add_argument("--chain-id", help="the chain's id (else the file's chainId): the same command again "
                                          "attaches to that chain")
    chain.add_argument("--wait", action="store_true", help="follow the chain to its end")
    _following(chain)
    chain.set_defaults(handler=cmd_chain)
    return parser


def read_key(key_file: str | None, environ: Mapping[str, str]) -> str | None:
    """The function key: the first line of --key-file, else RUNBRIDGE_KEY, else none."""
    if key_file:
        try:
            with open(key_file, encoding="utf-8") as handle:
                key = handle.readline().strip()
        except OSError as exc:
            raise UsageError(f"cannot read the key file {key_file}: {exc.strerror}") from None
        if not key:
            raise UsageError(f"the key file {key_file} is empty")
        return key
    return (environ.get("RUNBRIDGE_KEY") or "").strip() or None


def run(argv: Sequence[str], *, environ: Mapping[str, str] | None = None, out: TextIO | None = None,
        err: TextIO | None = None, clock: Clock | None = None) -> int:
    """Run one command line; the exit code (outcome.ExitCode). Never raises for a refused or failed request."""
    environ = os.environ if environ is None else environ
    out, err, clock = out or sys.stdout, err or sys.stderr, clock or Clock()
    key: str | None = None
    reporter = Reporter(out, err, clock)
    try:
        args = build_parser().parse_args(list(argv))
        key = read_key(args.key_file, environ)
        api = Api(args.url or environ.get("RUNBRIDGE_URL") or DEFAULT_URL, key, clock=clock)
        reporter.scrub = api.scrub
        return args.handler(Context(api, reporter, lambda: Interrupts(err)), args)
    except UsageError as exc:
        reporter.problem(str(exc))
        return ExitCode.REFUSED
    except Refused as exc:
        reporter.problem(str(exc))
        return ExitCode.REFUSED
    except Unreachable as exc:
        reporter.problem(str(exc))
        return ExitCode.UNREACHABLE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else ExitCode.SUCCESS
    except KeyboardInterrupt:  # a command that is not following a run: nothing to cancel
        reporter.problem("interrupted")
        return 130


def main() -> None:
    """The console script."""
    sys.exit(run(sys.argv[1:]))
