"""One guard for every run activity: whatever goes wrong is answered as a typed error, never raised.

An exception that reaches the orchestrator fails the whole run (InternalError) while its remote job keeps
running; an answer lets the loop decide: retry a transient failure, wait for a missing connection under its
own budget, fail a submit the platform refused. Each kind of failure has its ErrorCode (core/protocol.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from core.errors import ValidationError
from core.protocol import ActivityError, RunError
from core.status import ErrorCode
from platforms.http import ErrorKind, PlatformError

log = logging.getLogger("runbridge.activities")
# 401/403/404: a platform mid-deployment or a lagging replica sends them once; the orchestrator believes
# them only once they hold (core.poll_policy confirm_budget), and a submit reconciles before each new try.
REFUSALS = (ErrorKind.AUTH, ErrorKind.NOT_FOUND)


class ConnectionNotConfigured(Exception):
    """The run's connection is not among this app's settings (any more)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"The connection '{name}' is not configured on this app (CONNECTIONS__{name}__* settings).")


def platform_code(exc: PlatformError) -> ErrorCode:
    """The ErrorCode of a platform failure."""
    return ErrorCode.NOT_FOUND if exc.kind == ErrorKind.NOT_FOUND else ErrorCode.PLATFORM_REJECTED


def as_error(exc: Exception, activity: str) -> ActivityError:
    """The typed answer for an exception an activity met."""
    if isinstance(exc, PlatformError):
        # transient and busy ones carry the platform's Retry-After for the orchestrator's wait (busy: the
        # platform must finish other work first, and the run asked to wait for it)
        return ActivityError(RunError.of(platform_code(exc), str(exc)), exc.transient, exc.kind == ErrorKind.BUSY,
                             exc.retry_after, refused=exc.kind in REFUSALS)
    if isinstance(exc, ConnectionNotConfigured):
        return ActivityError(RunError.of(ErrorCode.CONNECTION_NOT_CONFIGURED, str(exc)))
    if isinstance(exc, ValidationError):
        # the start checked the job exists: "not found" at submit may be one stray 404, so it is asked again
        return ActivityError(RunError.of(ErrorCode.INVALID_PARAMETER, str(exc)),
                             refused=exc.code == ErrorCode.NOT_FOUND.value)
    log.exception("activity %s failed inside runbridge", activity)
    return ActivityError(RunError.of(ErrorCode.INTERNAL_ERROR,
                                     f"{activity} failed inside runbridge ({type(exc).__name__}); the host log has "
                                     "the details."))


def guarded(activity: str) -> Callable[[Callable[[dict[str, Any]], Any]], Callable[[dict[str, Any]], dict[str, Any]]]:
    """Wrap an activity body that returns a protocol result: its `to_dict`, or an ActivityError's."""
    def wrap(body: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def run(payload: dict[str, Any]) -> dict[str, Any]:
            try:
                return body(payload).to_dict()
            except Exception as exc:  # the guard: every failure becomes an answer
                return as_error(exc, activity).to_dict()
        # the Functions indexer reads the name and the `payload` parameter; the answer is plain JSON data
        run.__name__, run.__qualname__, run.__doc__ = body.__name__, body.__qualname__, body.__doc__
        run.__module__ = body.__module__
        return run
    return wrap
