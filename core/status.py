"""The one status set every job type reports, and the codes a run can end with.

Each platform keeps one table from its own status strings to `RunStatus` (in its client) and calls
`map_status`, which never raises: a status nobody listed becomes Unknown, which keeps polling under its
own time budget (`core.poll_policy`) instead of crashing the loop or polling forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class RunStatus(str, Enum):
    """The scheduler's run status; the value is the wire spelling."""

    STARTING = "Starting"  # submitted; the remote job is queued, preparing or waiting for compute
    RUNNING = "Running"  # the remote job is doing work (or finalizing); the run deadline applies
    SUCCESS = "Success"  # ended well; outputs can be read
    FAILED = "Failed"  # ended badly: remote failure, timeout, exhausted budget; the error code says which
    CANCELLED = "Cancelled"  # ended because someone asked to cancel, here or on the platform
    UNKNOWN = "Unknown"  # the platform said something we cannot map; still polled, under the unknown budget

    def __str__(self) -> str:
        return self.value


# A run in one of these states is over: no more polls, no cancel.
TERMINAL: frozenset[RunStatus] = frozenset({RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED})
# A run in one of these states is still polled. Unknown is deliberately here, not terminal: an unmapped
# status may be a new in-progress state, so it polls on, bounded by PollPolicy.unknown_budget.
ACTIVE: frozenset[RunStatus] = frozenset({RunStatus.STARTING, RunStatus.RUNNING, RunStatus.UNKNOWN})


def is_terminal(status: RunStatus) -> bool:
    """True when the run is over and must not be polled again."""
    return status in TERMINAL


def map_status(table: Mapping[str, RunStatus], remote: str | None) -> RunStatus:
    """Map a platform's status string to a `RunStatus`; anything unmapped is Unknown.

    Case: an exact key wins; otherwise keys are compared case-insensitively (after trimming spaces),
    because platforms are inconsistent about case (Azure ML documents PascalCase but its SDK decodes
    case-insensitively). When case-insensitive matching finds keys that disagree, the answer is
    Unknown rather than a guess. Never raises, whatever `remote` is.
    """
    if not isinstance(remote, str):
        return RunStatus.UNKNOWN
    exact = table.get(remote)
    if exact is not None:
        return exact
    wanted = remote.strip().casefold()
    found = {status for key, status in table.items() if key.strip().casefold() == wanted}
    return found.pop() if len(found) == 1 else RunStatus.UNKNOWN


class ErrorCode(str, Enum):
    """Why a run ended other than in Success, or why a request was refused (the `error.code` field)."""

    TIMEOUT = "Timeout"  # startTimeout or timeout passed; the remote job was cancelled; run Failed
    REMOTE_FAILED = "RemoteFailed"  # the platform reported the job failed (its message is in the error)
    CANCELLED = "Cancelled"  # cancelled on request (POST .../cancel) or by someone on the platform
    # the remote job could not be created, or a submit that may have created it never got an answer: the
    # record's remoteName says what would find it, and the orphan sweeper looks for it (core/orphans.py)
    SUBMIT_FAILED = "SubmitFailed"
    REQUIRES_ACTION = "RequiresAction"  # the remote run waits for input runbridge cannot give (a tool call)
    # The platform ended the job failed because its model was throttled (an agent run's last_error
    # rate_limit_exceeded): the request was sound, so the same run started later may succeed.
    RATE_LIMITED = "RateLimited"
    # Consecutive transient poll errors (429, 5xx, timeouts) exceeded PollPolicy.transient_budget. The
    # remote job may still be running: remoteStatus holds the last status seen.
    TRANSIENT_BUDGET_EXHAUSTED = "TransientBudgetExhausted"
    # The remote status stayed unmapped longer than PollPolicy.unknown_budget; the job was cancelled.
    UNKNOWN_STATUS_BUDGET_EXHAUSTED = "UnknownStatusBudgetExhausted"
    NOT_FOUND = "NotFound"  # the run, or the remote job/template/agent/pipeline it names, does not exist
    PLATFORM_REJECTED = "PlatformRejected"  # the platform refused a call for good (auth, bad body)
    INVALID_REQUEST = "InvalidRequest"  # the caller's request is malformed; answered 4xx, nothing started
    CONFLICT = "Conflict"  # the runId is already used by a different request
    INVALID_PARAMETER = "InvalidParameter"  # the platform-side check of a parameter failed at submit
    # The run's connection is no longer configured on this app (renamed in a redeploy, a slot swap): the run
    # shows Unknown under its own budget, so a fixed setting brings it back; then it ends Failed with this.
    CONNECTION_NOT_CONFIGURED = "ConnectionNotConfigured"
    INTERNAL_ERROR = "InternalError"  # runbridge itself failed (a bug); the host log has the details
    TERMINATED = "Terminated"  # the run's orchestration was terminated on the Durable task hub
    # The remote job succeeded but its outputs could not be read (the read kept failing, or a promised
    # Output parameter is not among them): the run is not Success, its message says where the outputs are.
    OUTPUTS_UNAVAILABLE = "OutputsUnavailable"

    def __str__(self) -> str:
        return self.value
