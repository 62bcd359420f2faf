"""The orphan sweeper: a timer function that cancels remote jobs whose run was terminated or failed, or
whose submit never got an answer.

Every five minutes it lists the task hub's Terminated and Failed instances, and the Completed ones created
in the last SUBMIT_LOOKBACK, picks the orphans among them (core/orphans.py: the last run record showed a
live remote job, or named one a submit may have made without hearing back: `remoteName`), finds the job of
the latter with the platform client's `find` (the read a submit reconciles with), asks each one's platform
for the job's status, and cancels a job that is still active. The cancel is sent once per orphan and host; the job is
looked at again on each sweep until the platform reports it ended, so a cancel lost to a transient error
is sent again, and a job that ends on its own is simply let go. Timer functions run on one instance of
the app at a time (the Functions host holds a lease), so two sweeps never race.

The job is reached where the run captured it at submit (its coordinates), with the identity and keys the
connection has now; a connection removed since is rebuilt from the coordinates alone, which serves every
platform whose identity is the app's own (Azure ML, Foundry) but not one that needs a key (Abacus).
What the sweeper did shows on the run's record (remoteStatus and a note, maintenance/sweep_notes.py).

What the sweeper knows lives in this process: after a restart it looks at every orphan once more, which
costs one status read per orphan (and a cancel for any still running). Each sweep lists every Terminated
and Failed instance the task hub keeps (the management API filters by runtime status and creation time
only); purging old history keeps that list short.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import azure.durable_functions as df
import azure.functions as func
import requests

from core.connections import Connection
from core.errors import ValidationError
from core.job_types import job_type
from core.orphans import STOPPED_RUNTIMES, Orphan, orphan_of
from core.run_events import log_run_event
from core.run_request import RunRequest
from core.status import is_terminal
from maintenance.sweep_notes import SweepNote, write_note
from platforms.base import PlatformClient
from platforms.http import PlatformError
from platforms.registry import client_for, get_connection
from starters.start import TaskHubUnavailable, list_instances

SCHEDULE = "0 */5 * * * *"  # NCRONTAB, seconds first: every five minutes
PAGE_SIZE = 100
# Runs that ended on their own are looked at when created this recently: a submit that never got an answer
# ends within the run's startTimeout, and its job is worth cancelling while it may still run.
SUBMIT_LOOKBACK = timedelta(days=2)
log = logging.getLogger("runbridge.sweeper")
bp = df.Blueprint()


@dataclass
class SweepMemory:
    """What earlier sweeps of this process did, by run id and the moment the instance stopped."""

    settled: set[tuple[str, str | None]] = field(default_factory=set)  # the remote job has ended
    cancelled: set[tuple[str, str | None]] = field(default_factory=set)  # a cancel was accepted
    found: dict[tuple[str, str | None], str] = field(default_factory=dict)  # the job `find` found, by run


def wall_clock() -> datetime:
    """Now, as the task hub stamps creation times (tests on a virtual clock replace it)."""
    return datetime.now(timezone.utc)


MEMORY = SweepMemory()


@bp.timer_trigger(schedule=SCHEDULE, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def sweep_orphans(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Cancel the remote jobs of runs terminated on the task hub or failed inside runbridge."""
    try:
        orphans = await _orphans(client)
    except (TaskHubUnavailable, requests.RequestException) as exc:
        log.warning("orphan sweep skipped: the task hub could not be read (%s)", exc)
        return
    for orphan in orphans:
        if (orphan.run_id, orphan.stopped_at) not in MEMORY.settled:
            note = await asyncio.to_thread(settle, orphan, MEMORY)
            if note is not None:
                await write_note(client, orphan.run_id, note)


async def _orphans(client: df.DurableOrchestrationClient) -> list[Orphan]:
    since = (wall_clock() - SUBMIT_LOOKBACK).strftime("%Y-%m-%dT%H:%M:%SZ")
    stopped = {"runtimeStatus": ",".join(STOPPED_RUNTIMES), "showInput": "true", "top": str(PAGE_SIZE)}
    ended = {"runtimeStatus": "Completed", "createdTimeFrom": since, "showInput": "true", "top": str(PAGE_SIZE)}
    return await _listed(client, stopped) + await _listed(client, ended)


async def _listed(client: df.DurableOrchestrationClient, params: dict[str, str]) -> list[Orphan]:
    found: list[Orphan] = []
    page: str | None = None
    while True:
        listed = await list_instances(client, params, page)
        found += [orphan for orphan in map(orphan_of, listed.instances) if orphan is not None]
        page = listed.next_page
        if not page:
            return found


def _platform(orphan: Orphan, request: RunRequest) -> PlatformClient:
    """The client that reaches the orphan's job where it lives (ValueError when nothing can)."""
    configured = get_connection(request.connection)
    if configured is not None:
        connection = configured.at(orphan.coordinates) if orphan.coordinates else configured
    elif orphan.coordinates:
        connection = Connection(request.connection, job_type(request.job_type).connection_type, orphan.coordinates)
    else:
        raise ValueError(f"connection {request.connection!r} is no longer configured on this app")
    try:
        return client_for(connection)
    except (KeyError, ValueError) as exc:  # the platform needs a setting the coordinates do not hold (a key)
        raise ValueError(f"connection {request.connection!r} is no longer configured on this app and its "
                         f"platform needs more than the job's coordinates ({exc})") from None


def settle(orphan: Orphan, memory: SweepMemory) -> SweepNote | None:
    """Look at one orphan's remote job (found first when its submit never got an answer); cancel it once if
    it is still active; remember it once it ended. What it found or did, for the run's record (None: nothing
    new to say)."""
    key = (orphan.run_id, orphan.stopped_at)
    try:
        request = RunRequest.from_dict(orphan.request)
        platform = _platform(orphan, request)
    except (ValidationError, ValueError, KeyError, TypeError) as exc:  # nothing to reach it with: say so once
        log.error("orphan %s (remote %s) cannot be cancelled: %s; cancel it on the platform", orphan.run_id,
                  orphan.shown_as, exc)
        memory.settled.add(key)
        return SweepNote.unreachable(orphan.shown_as, str(exc))
    try:
        remote_run_id = orphan.remote_run_id or memory.found.get(key)
        if remote_run_id is None:
            made = platform.find(request.with_created_at(orphan.created_at), orphan.run_id)
            if made is None:
                memory.settled.add(key)
                return SweepNote.none_found(orphan.shown_as)
            remote_run_id = memory.found[key] = made.remote_run_id
        state = platform.get_state(remote_run_id)
        if is_terminal(state.status):
            memory.settled.add(key)
            return SweepNote.ended(remote_run_id, state.remote_status, key in memory.cancelled)
        if key in memory.cancelled:
            return None  # asked already; looked at again next sweep
        platform.cancel(remote_run_id)
    except ValidationError as exc:  # the job cannot be looked for as the run asked (its pipeline changed)
        memory.settled.add(key)
        return SweepNote.unreachable(orphan.shown_as, str(exc))
    except PlatformError as exc:
        log.warning("orphan %s (remote %s): not settled this sweep: %s", orphan.run_id, orphan.shown_as,
                    str(exc).split("\n")[0])
        return None
    memory.cancelled.add(key)
    fields = {"event": "orphan_cancelled", "runId": orphan.run_id, "jobType": request.job_type,
              "connection": request.connection, "remoteRunId": remote_run_id,
              "remoteStatus": state.remote_status}
    log_run_event(log, fields)
    return SweepNote.cancel_sent(remote_run_id, state.remote_status, found=orphan.remote_run_id is None)
