"""The submit → poll → outputs loop every job type runs (with `yield from`), cancel and timeouts included.

Deterministic: it reads only the context (input, current_utc_datetime, new_uuid, task results) and
carries out the decisions of `core.poll_policy.next_poll`. Two phases: submit (submit_phase.py) and poll
(poll_phase.py), over one RunContext (run_context.py). Everything that crosses the Durable boundary is a
type of core/protocol.py; the run record (core.run_record.RunRecord) is the custom status while the run
lives (published before every execution's first wait) and the output when it ends.

Cancel is never lost. Each execution makes ONE waiter for the cancel event and races every timer
against that same task. A fresh waiter per wait would not do: a waiter that lost an earlier race stays
registered with the SDK, and an event raised later (say during an activity) would complete that stale
waiter and vanish. With one waiter:
- before submit, a zero-length race registers it, so a cancel raised while the run was still pending is
  seen and no remote job is made;
- a cancel raised at any later time completes the waiter, and the next race returns it at once (the
  timer is then cancelled);
- before continue-as-new the waiter is checked, so a cancel consumed by this execution is acted on;
  events raised during the restart go to the new execution, whose first wait registers its own waiter
  (1.x drops only events the SDK buffered without a waiter, durable-functions.md §4 and issue #507).

A wake-up (WAKE_EVENT, raised by starters/azureml_events.py when the platform says the job changed) joins
the same race once the job exists, on runs whose connection has events wired (the submit activity says so:
an orchestrator reads no settings). It is raised many times, so its waiter is replaced each time it wins, and
only then: one waiter at a time, never a stale one. A wake-up raised while no waiter is registered (during a
poll, right after a win) is buffered by the SDK and completes the next waiter when that is raced. Before
continue-as-new a zero-length race registers the waiter, so a buffered wake-up is taken, not dropped; the
new execution then polls at once (`woken` in its input). A wake-up only makes the run poll now: the poll
decides, so a forged, duplicated or stale one costs one status read.

One trap: the 1.x SDK keeps an event that found no waiter (`deferred_tasks`, keyed by name) for the rest
of the execution and completes EVERY later waiter of that name with it, so a wake-up raised during a poll
would come back at each race, a poll each time. A waiter that completes with exactly the wake-up the
previous one took is that leftover: the loop then continues as new at once (polling first thing in the
new execution, in case it was a genuine repeat), and a fresh execution carries no leftover.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from core.poll_policy import PollPolicy, PollState, Wait
from core.status import is_terminal

from .poll_phase import poll_phase
from .run_context import RunContext
from .submit_phase import submit_phase


def run_job(context: df.DurableOrchestrationContext, policy: PollPolicy) -> Generator[Any, Any, dict[str, Any]]:
    """Run one remote job to its end; return the final run record (or this execution's, on continue-as-new)."""
    run = RunContext(context, policy)
    run.publish()  # every execution shows the record it carries before its first wait
    run.listen_for_cancel()
    yield from run.announce()  # a new run's Starting (a continued one has announced what it carries)
    record = yield from _phases(run, policy)
    if is_terminal(run.record.status) and not context.will_continue_as_new:
        yield from run.announce(final=True)  # its outputs, then its end, in one hand-off
    return record


def _phases(run: RunContext, policy: PollPolicy) -> Generator[Any, Any, dict[str, Any]]:
    if run.input.polling:
        state = PollState.from_dict(run.input.poll or {})
        # a wake-up taken just before continue-as-new: poll at once
        first = None if run.input.woken else Wait(run.input.wait or policy.first_interval, state)
        return (yield from poll_phase(run, state, first, run.input.cancel_sent))
    submitted = yield from submit_phase(run)
    if not isinstance(submitted, PollState):
        return submitted
    return (yield from poll_phase(run, submitted, None, cancel_sent=False))
