"""The subcommands: each turns its arguments into API calls and returns an exit code (outcome.ExitCode)."""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbridge_cli.api import Api, path_of
from runbridge_cli.follow import Follower, FollowOptions, Target, print_outcome
from runbridge_cli.interrupts import Interrupts
from runbridge_cli.outcome import ExitCode, exit_code_for, has_ended
from runbridge_cli.policy import FollowPolicy
from runbridge_cli.report import Reporter

JOBS_PAGE_SIZE = 500  # the API's largest page


class UsageError(Exception):
    """The command line is wrong (exit code 4, like any refused request)."""


@dataclass
class Context:
    """What every subcommand works with."""

    api: Api
    reporter: Reporter
    interrupts: Callable[[], Interrupts]


def _pairs(values: list[str] | None, option: str, value_required: bool = True) -> list[tuple[str, str | None]]:
    pairs = []
    for text in values or []:
        name, sep, value = text.partition("=")
        if not name or (value_required and not sep):
            raise UsageError(f"{option} takes name=value, got {text!r}")
        pairs.append((name, value if sep else None))
    return pairs


def run_request(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /api/runs body for `runbridge run`: values kept as strings, a runId always set (retry-safe)."""
    parameters: list[dict[str, Any]] = [{"name": n, "value": v, "direction": "Input"}
                                        for n, v in _pairs(args.param, "-p/--param")]
    parameters += [{"name": name, "direction": "Output"} for name in args.output or []]
    for name, value in _pairs(args.inout, "--inout", value_required=False):
        parameters.append({"name": name, "direction": "InputOutput", **({} if value is None else {"value": value})})
    body: dict[str, Any] = {"jobType": args.job_type, "connection": args.connection, "job": args.job,
                            "parameters": parameters, "runId": args.run_id or uuid.uuid4().hex}
    if args.timeout:
        body["timeout"] = args.timeout
    if args.start_timeout:
        body["startTimeout"] = args.start_timeout
    return body


def follow_options(args: argparse.Namespace, cancel_already_sent: bool = False) -> FollowOptions:
    policy = FollowPolicy(first_interval=args.poll_interval, max_interval=max(args.poll_interval,
                                                                                args.max_poll_interval))
    on_signal = {name: getattr(args, name) for name in ("cancel_grace", "detach_on_interrupt") if hasattr(args, name)}
    return FollowOptions(max_wait=args.max_wait, cancel_already_sent=cancel_already_sent, policy=policy, **on_signal)


def _outputs(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return record.get("outputs") or {}


def _chain_outputs(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return {f"{step.get('name')}.{name}": value for step in record.get("steps") or []
            for name, value in (step.get("outputs") or {}).items()}


def _started(ctx: Context, target: Target, status: int) -> None:
    verb = "started" if status == 202 else "already exists: attached to it"
    ctx.reporter.say(f"{target} {verb}")


def _print_started(ctx: Context, target: Target, record: Mapping[str, Any], as_json: bool) -> None:
    """Without --wait: the id on stdout (what a script captures), or the whole record with --json."""
    if as_json:
        ctx.reporter.json(record)
    else:
        ctx.reporter.result(target.id)


def cmd_run(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """runbridge run: start a run (or attach to the one this --run-id names); with --wait, follow it."""
    body = run_request(args)
    target = Target("run", body["runId"])
    if not args.wait:
        answer = ctx.api.call("POST", "runs", body=body)
        _started(ctx, target, answer.status)
        _print_started(ctx, target, answer.body, args.json)
        return ExitCode.SUCCESS
    with ctx.interrupts() as interrupts:  # a signal during the start still cancels the run it started
        answer = ctx.api.call("POST", "runs", body=body)
        _started(ctx, target, answer.status)
        record, code = Follower(ctx.api, ctx.reporter, interrupts, follow_options(args)).follow(target, answer)
    print_outcome(ctx.reporter, record, args.json, _outputs)
    return code


def cmd_wait(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """runbridge wait: follow an existing run to its end."""
    target = Target("run", args.id)
    with ctx.interrupts() as interrupts:
        answer = ctx.api.call("GET", target.read_path)
        record, code = Follower(ctx.api, ctx.reporter, interrupts, follow_options(args)).follow(target, answer)
    print_outcome(ctx.reporter, record, args.json, _outputs)
    return code


def cmd_status(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """runbridge status: one look at a run; the exit code of `wait --max-wait 0`."""
    record = ctx.api.call("GET", path_of("runs", args.id)).body
    if args.json:
        ctx.reporter.json(record)
    else:
        error = record.get("error")
        fields = {key: record.get(key) for key in ("id", "jobType", "connection", "job", "status", "remoteStatus",
                                                   "remoteRunId", "monitorUrl", "createdAt", "startedAt",
                                                   "endedAt", "polls")}
        fields["error"] = f"{error.get('code')}: {error.get('message')}" if isinstance(error, Mapping) else None
        ctx.reporter.values(fields)
        ctx.reporter.values(_outputs(record), prefix="outputs.")
    return exit_code_for(record) if has_ended(record) else ExitCode.GAVE_UP


def cmd_cancel(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """runbridge cancel: ask a run to cancel its remote job; with --wait, follow it to its end."""
    target = Target("run", args.id)
    answer = ctx.api.call("POST", target.cancel_path)
    ctx.reporter.say(f"cancel sent for {target}")
    if not args.wait:
        if args.json:
            ctx.reporter.json(answer.body)
        return ExitCode.SUCCESS
    with ctx.interrupts() as interrupts:
        follower = Follower(ctx.api, ctx.reporter, interrupts, follow_options(args, cancel_already_sent=True))
        record, code = follower.follow(target, answer)
    print_outcome(ctx.reporter, record, args.json, _outputs)
    return code


def cmd_history(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """runbridge history: the run's timeline (or its whole event log with --json)."""
    history = ctx.api.call("GET", path_of("runs", args.id, "history")).body
    if args.json:
        ctx.reporter.json(history)
        return ExitCode.SUCCESS
    for point in history.get("timeline") or []:
        ctx.reporter.result(f"{point.get('time') or '-'}\t{point.get('kind')}\t{point.get('label')}")
    return ExitCode.SUCCESS


def cmd_connections(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """runbridge connections: the connections configured on runbridge and their job types."""
    listed = ctx.api.call("GET", "connections").body
    if args.json:
        ctx.reporter.json(listed)
        return ExitCode.SUCCESS
    for connection in listed.get("connections") or []:
        ctx.reporter.result(f"{connection.get('name')}\t{connection.get('type')}\t"
                            f"{','.join(connection.get('jobTypes') or [])}")
    return ExitCode.SUCCESS


def cmd_jobs(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """runbridge jobs: everything a connection can run, following every page."""
    jobs: list[dict[str, Any]] = []
    page: str | None = None
    while True:
        params = {"pageSize": str(JOBS_PAGE_SIZE), **({"page": page} if page else {})}
        answer = ctx.api.call("GET", path_of("connections", args.connection, "jobs"), params=params).body
        jobs += answer.get("jobs") or []
        page = answer.get("nextPage")
        if not page:
            break
    if args.json:
        ctx.reporter.json({"jobs": jobs})
        return ExitCode.SUCCESS
    for job in jobs:
        parameters = " ".join(_parameter_text(p) for p in job.get("parameters") or [])
        ctx.reporter.result(f"{job.get('job')}\t{job.get('displayName') or ''}\t{parameters}")
    return ExitCode.SUCCESS


def _parameter_text(parameter: Mapping[str, Any]) -> str:
    marks = {"Input": "", "Output": " out", "InputOutput": " inout"}
    required = "*" if parameter.get("required") else ""
    return f"{parameter.get('name')}{required}({parameter.get('type')}{marks.get(parameter.get('direction'), '')})"


def chain_request(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /api/chains body from the file, with a chainId always set (retry-safe); --chain-id wins."""
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the chain file {args.file}: {exc.strerror}") from None
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"the chain file {args.file} is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise UsageError(f"the chain file {args.file} must hold a JSON object with steps")
    return {**body, "chainId": args.chain_id or body.get("chainId") or uuid.uuid4().hex}


def cmd_chain(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """runbridge chain: start a chain of runs from a JSON file; with --wait, follow it to its end."""
    body = chain_request(args)
    target = Target("chain", body["chainId"])
    if not args.wait:
        answer = ctx.api.call("POST", "chains", body=body)
        _started(ctx, target, answer.status)
        _print_started(ctx, target, answer.body, args.json)
        return ExitCode.SUCCESS
    with ctx.interrupts() as interrupts:
        answer = ctx.api.call("POST", "chains", body=body)
        _started(ctx, target, answer.status)
        record, code = Follower(ctx.api, ctx.reporter, interrupts, follow_options(args)).follow(target, answer)
    print_outcome(ctx.reporter, record, args.json, _chain_outputs)
    return code
