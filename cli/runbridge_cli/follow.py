"""Follow a run or a chain to its end: read it on a growing interval, report each change, cancel on a signal.

The loop, for a run (a chain is the same with its own paths):
1. report the record if it changed; if it has ended, return its exit code;
2. on the first signal: with --detach-on-interrupt return GAVE_UP and leave the run going; else send the
   cancel and keep following, now bounded by --cancel-grace instead of --max-wait (exit CANCELLED when the
   grace ends first);
3. past --max-wait, return GAVE_UP (the run goes on);
4. wait (policy.next_follow_wait: backoff, Retry-After, cut short by a signal), read again; a read that
   fails after its retries is tolerated up to policy.unreachable_reads times in a row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbridge_cli.api import Answer, Api, Refused, Unreachable, path_of
from runbridge_cli.interrupts import Interrupts
from runbridge_cli.outcome import ExitCode, exit_code_for, has_ended
from runbridge_cli.policy import FollowPolicy, next_follow_wait
from runbridge_cli.report import Reporter, describe_chain, describe_run


@dataclass(frozen=True)
class Target:
    """What is followed: a run or a chain, by id."""

    kind: str  # "run" or "chain"
    id: str

    @property
    def read_path(self) -> str:
        return path_of(f"{self.kind}s", self.id)

    @property
    def cancel_path(self) -> str:
        return path_of(f"{self.kind}s", self.id, "cancel")

    def describe(self, record: Mapping[str, Any]) -> str:
        return describe_run(record) if self.kind == "run" else describe_chain(record)

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


@dataclass(frozen=True)
class FollowOptions:
    """How long to follow and what a signal does; seconds."""

    max_wait: float | None = None  # give up (GAVE_UP) after this long; None: until the end
    cancel_grace: float = 120.0  # after a signal's cancel, how long to wait for the end
    detach_on_interrupt: bool = False  # a signal leaves the run going instead of cancelling it
    cancel_already_sent: bool = False  # `cancel --wait`: a signal only stops the wait
    policy: FollowPolicy = field(default_factory=FollowPolicy)


@dataclass
class Follower:
    """Follows one target through `api`, reporting on `reporter`; signals come through `interrupts`."""

    api: Api
    reporter: Reporter
    interrupts: Interrupts
    options: FollowOptions

    def follow(self, target: Target, first: Answer) -> tuple[dict[str, Any], ExitCode]:
        """Follow `target` from its first answer to its end (or a give-up); the last record and the exit code."""
        clock, options = self.api.clock, self.options
        give_up_at = None if options.max_wait is None else clock.monotonic() + options.max_wait
        cancel_by: float | None = None
        record, hint = first.body, first.retry_after
        seen, monitor_seen, unchanged, failed_reads = "", False, 0, 0
        while True:
            line = target.describe(record)
            if line != seen:
                self.reporter.say(line)
                seen, unchanged = line, 0
            if not monitor_seen and record.get("monitorUrl"):
                self.reporter.say(f"{target}: monitor {record['monitorUrl']}")
                monitor_seen = True
            if has_ended(record):
                return record, exit_code_for(record)
            if self.interrupts.requested and cancel_by is None:
                if options.detach_on_interrupt:
                    self.reporter.say(f"interrupted: {target} goes on (--detach-on-interrupt)")
                    return record, ExitCode.GAVE_UP
                if options.cancel_already_sent:
                    self.reporter.say(f"interrupted: the cancel of {target} was sent; not waiting for its end")
                    return record, ExitCode.CANCELLED
                record = self._cancel(target)
                cancel_by = clock.monotonic() + options.cancel_grace
                hint = None
                continue
            now = clock.monotonic()
            if cancel_by is not None and now >= cancel_by:
                self.reporter.say(f"the cancel of {target} was sent; it had not ended after "
                                  f"{options.cancel_grace:g} s (--cancel-grace): exiting")
                return record, ExitCode.CANCELLED
            if cancel_by is None and give_up_at is not None and now >= give_up_at:
                self.reporter.say(f"gave up waiting after {options.max_wait:g} s (--max-wait); {target} goes on")
                return record, ExitCode.GAVE_UP
            wait = next_follow_wait(options.policy, unchanged, hint)
            limit = cancel_by if cancel_by is not None else give_up_at
            if limit is not None:
                wait = min(wait, max(0.0, limit - now))
            clock.sleep(wait, self.interrupts.wake)
            if self.interrupts.requested and cancel_by is None:
                continue  # the signal is handled before the next read
            unchanged += 1
            try:
                answer = self.api.call("GET", target.read_path)
            except Unreachable as exc:
                failed_reads += 1
                if failed_reads >= options.policy.unreachable_reads:
                    raise
                self.reporter.say(f"{exc}; still following {target}")
                hint = None
                continue
            failed_reads = 0
            record, hint = answer.body, answer.retry_after

    def _cancel(self, target: Target) -> dict[str, Any]:
        """Send the cancel for a signal, then read the target again."""
        self.interrupts.wake.clear()
        self.interrupts.cancelling = str(target)
        self.reporter.say(f"interrupted: cancelling {target}")
        try:
            self.api.call("POST", target.cancel_path)
        except Refused as exc:
            if exc.status != 409:  # 409: it ended meanwhile; the read below says how
                raise
        except Unreachable as exc:
            raise Unreachable(f"the cancel of {target} could not be sent: {exc}") from exc
        else:
            self.interrupts.cancel_sent = True
            self.reporter.say(f"cancel sent for {target}; waiting up to {self.options.cancel_grace:g} s for it "
                              "to end (a second signal exits at once)")
        return self.api.call("GET", target.read_path).body


def print_outcome(reporter: Reporter, record: Mapping[str, Any], as_json: bool,
                  outputs_of: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> None:
    """The result on stdout: the whole record with --json, else the outputs once the run has ended."""
    if as_json:
        reporter.json(record)
    elif has_ended(record):
        reporter.values(outputs_of(record))
