"""The orphan sweeper: a timer function that cancels remote jobs whose run was terminated or failed.

Every five minutes it lists the task hub's Terminated and Failed instances, picks the orphans among them
(core/orphans.py: the last run record showed a live remote job), asks each one's platform for the job's
status, and cancels a job that is still active. The cancel is sent once per orphan and host; the job is
looked at again on each sweep until the platform reports it ended, so a cancel lost to a transient error
is sent again, and a job that ends on its own is simply let go. Timer functions run on one instance of
the app at a time (the Functions host holds a lease), so two sweeps never race.

What the sweeper knows lives in this process: after a restart it looks at every orphan once more, which
costs one status read per orphan (and a cancel for any still running). Each sweep lists every Terminated
and Failed instance the task hub keeps (the management API filters by runtime status and creation time
only); purging old history keeps that list short.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import azure.durable_functions as df
import azure.functions as func
import requests

from core.errors import ValidationError
from core.orphans import STOPPED_RUNTIMES, Orphan, orphan_of
from core.run_events import log_run_event
from core.run_request import RunRequest
from core.status import is_terminal
from platforms.http import PlatformError
from platforms.registry import client_for, get_connection
from starters.start import TaskHubUnavailable, list_instances

SCHEDULE = "0 */5 * * * *"  # NCRONTAB, seconds first: every five minutes
PAGE_SIZE = 100
log = logging.getLogger("runbridge.sweeper")
bp = df.Blueprint()


@dataclass
class SweepMemory:
    """What earlier sweeps of this process did, by run id and the moment the instance stopped."""

    settled: set[tuple[str, str | None]] = field(default_factory=set)  # the remote job has ended
    cancelled: set[tuple[str, str | None]] = field(default_factory=set)  # a cancel was accepted


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
            await asyncio.to_thread(settle, orphan, MEMORY)


async def _orphans(client: df.DurableOrchestrationClient) -> list[Orphan]:
    params = {"runtimeStatus": ",".join(STOPPED_RUNTIMES), "showInput": "true", "top": str(PAGE_SIZE)}
    found: list[Orphan] = []
    page: str | None = None
    while True:
        listed = await list_instances(client, params, page)
        found += [orphan for orphan in map(orphan_of, listed.instances) if orphan is not None]
        page = listed.next_page
        if not page:
            return found


def settle(orphan: Orphan, memory: SweepMemory) -> None:
    """Look at one orphan's remote job; cancel it once if it is still active; remember it once it ended."""
    key = (orphan.run_id, orphan.stopped_at)
    try:
        request = RunRequest.from_dict(orphan.request)
        connection = get_connection(request.connection)
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        connection, problem = None, str(exc)
    else:
        problem = f"connection {request.connection!r} is no longer configured on this app"
    if connection is None:  # nothing to reach it with, now or later: say so once
        log.error("orphan %s (remote %s) cannot be cancelled: %s; cancel it on the platform", orphan.run_id,
                  orphan.remote_run_id, problem)
        memory.settled.add(key)
        return
    try:
        platform = client_for(connection)
        state = platform.get_state(orphan.remote_run_id)
        if is_terminal(state.status):
            memory.settled.add(key)
            return
        if key in memory.cancelled:
            return  # asked already; looked at again next sweep
        platform.cancel(orphan.remote_run_id)
    except PlatformError as exc:
        log.warning("orphan %s (remote %s): not settled this sweep: %s", orphan.run_id, orphan.remote_run_id,
                    str(exc).split("\n")[0])
        return
    memory.cancelled.add(key)
    fields = {"event": "orphan_cancelled", "runId": orphan.run_id, "jobType": request.job_type,
              "connection": request.connection, "remoteRunId": orphan.remote_run_id,
              "remoteStatus": state.remote_status}
    log_run_event(log, fields)
