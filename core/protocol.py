"""The run protocol: everything that crosses the Durable boundary, in one place.

Starters start orchestrations, orchestrators call activities and wait for events, the timeline and the
orphan sweeper read what was recorded. They all speak through this module: the names (activities,
orchestrators, events), the Durable runtime-status sets, the orchestration input of each kind of execution
(first, continued after polling, continued while waiting for a busy platform), the activity inputs, and one
frozen result type per activity answer, each with `to_dict`/`from_dict`.

The wire shapes are Durable history: an instance in flight across a deploy replays the results and inputs
an older version wrote, so every `from_dict` reads the shapes written before this module existed (an error
as plain text with `errorCode` beside it, a poll result without `ok`), and `to_dict` keeps their keys
(tests/replay/test_recorded.py replays episodes recorded from that code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from core.cloud_events import new_notice
from core.payloads import decode_json_text
from core.status import ErrorCode, RunStatus

# ---- names ---------------------------------------------------------------------------------------------
SUBMIT_RUN = "submit_run"  # create the remote job (or find the one this run made): Submitted | ActivityError
POLL_RUN = "poll_run"  # one look at the remote job: Polled | ActivityError
CANCEL_RUN = "cancel_run"  # ask the platform to stop it: CancelSent | ActivityError
READ_OUTPUTS = "read_outputs"  # its outputs by name: OutputsRead | ActivityError
ACTIVITIES = (SUBMIT_RUN, POLL_RUN, CANCEL_RUN, READ_OUTPUTS)
CANCEL_EVENT = "cancel"  # the external event POST /api/runs/{id}/cancel raises on a run or a chain
WAKE_EVENT = "wake"  # the external event an Azure ML status event raises on its run: poll now (azureml_events)
CHAIN_ORCHESTRATOR = "run_chain"
# The orphan sweeper's note on a stopped run (what it did to the remote job), kept as a tiny orchestration of
# its own beside the run: a terminated instance takes no more custom status. Its id cannot be a run's or a
# chain's (they never hold '~').
SWEEP_NOTE_ORCHESTRATOR = "orphan_note"


def sweep_note_id(run_id: str) -> str:
    """The instance id of the sweeper's note on run `run_id`."""
    return f"{run_id}~swept"



class RunEvent(str, Enum):
    """The key moments of a run: logged as run events (core/run_events.py) and carried across continue-as-new
    as the run's `moments`, which core/timeline.py draws."""

    SUBMITTED = "submitted"  # the remote job exists
    WAITING = "waiting"  # the platform is busy; the run waits to submit (agent threads)
    STATUS_CHANGED = "status_changed"  # a poll saw another status
    CANCEL_REQUESTED = "cancel_requested"  # a cancel was decided (asked, deadline, unknown status...)
    CONTINUED_AS_NEW = "continued_as_new"  # the execution restarted to keep its history short
    ENDED = "ended"  # the run is over


# ---- Durable runtime statuses (durable-functions.md §1.3 OrchestrationStatus) ---------------------------
LIVE_RUNTIMES = ("Pending", "Running", "ContinuedAsNew", "Suspended")  # can still take events
STOPPED_RUNTIMES = ("Terminated", "Failed")  # stopped without the orchestrator deciding how the run ends
ENDED_RUNTIMES = ("Completed", "Failed", "Terminated", "Canceled")


# ---- errors --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunError:
    """Why a run ended (or is stuck): always an ErrorCode (or a code an older version wrote) and a message."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def of(cls, code: ErrorCode | str, message: str) -> RunError:
        return cls(str(code), message)

    @classmethod
    def from_value(cls, value: Any, code: Any = None, default: ErrorCode = ErrorCode.REMOTE_FAILED) -> RunError | None:
        """An error as any version wrote it: `{code, message}`, or plain text with its code beside it."""
        if isinstance(value, Mapping):
            return cls(str(value.get("code") or code or default), str(value.get("message") or ""))
        if value:
            return cls(str(code or default), str(value))
        return None


@dataclass(frozen=True)
class ActivityError:
    """An activity's call failed; never raised to the orchestrator (activities/guard.py).

    `transient`: worth calling again (after `retry_after` seconds at the least); `busy`: the platform must
    finish other work first and the run asked to wait for it; `refused`: a 401/403/404, which a platform
    mid-deployment sends once, so about a run's own job it counts only once it holds (core.poll_policy).
    """

    error: RunError
    transient: bool = False
    busy: bool = False
    retry_after: float | None = None
    refused: bool = False

    ok = False

    @property
    def code(self) -> str:
        return self.error.code

    def to_dict(self) -> dict[str, Any]:
        return {"ok": False, "transient": self.transient, "busy": self.busy, "retryAfter": self.retry_after,
                "refused": self.refused, "error": self.error.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], default: ErrorCode = ErrorCode.PLATFORM_REJECTED) -> ActivityError:
        transient = bool(data.get("transient"))
        error = RunError.from_value(data.get("error"), data.get("errorCode"), default) or RunError(str(default), "")
        return cls(error, transient, bool(data.get("busy")), _seconds(data.get("retryAfter")),
                   bool(data.get("refused")))


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _failed(data: Mapping[str, Any]) -> bool:
    return data.get("ok") is False or bool(data.get("transient"))


# ---- activity results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Submitted:
    """The remote job a submit made (or found): its id, where to watch it, and where it lives."""

    remote_run_id: str
    monitor_url: str | None = None
    remote_status: str | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    coordinates: Mapping[str, str] = field(default_factory=dict)  # the connection's non-secret location
    events: bool = False  # the connection's status events are wired (events=eventgrid): race their wake-ups

    ok = True

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True, "remoteRunId": self.remote_run_id, "monitorUrl": self.monitor_url,
                "remoteStatus": self.remote_status, "outputs": dict(self.outputs),
                "coordinates": dict(self.coordinates), "events": self.events}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Submitted | ActivityError:
        if _failed(data):
            return ActivityError.from_dict(data)
        return cls(str(data["remoteRunId"]), data.get("monitorUrl"), data.get("remoteStatus"),
                   dict(data.get("outputs") or {}), dict(data.get("coordinates") or {}), bool(data.get("events")))


@dataclass(frozen=True)
class Polled:
    """One answer about the remote job: its mapped status, the platform's word, times, and error if any.

    `error.code` on an active status asks the loop to cancel with that code (core.poll_policy).
    """

    status: RunStatus
    remote_status: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    error: RunError | None = None
    # read at a remote status change or the end only (core.run_steps): None when not read this time
    steps: Mapping[str, Any] | None = None
    usage: Mapping[str, int] | None = None  # tokens the run used, where the platform reports them
    retry_after: float | None = None  # the platform throttled a read of this poll: wait this long

    ok = True

    def to_dict(self) -> dict[str, Any]:
        data = {"ok": True, "status": self.status.value, "remoteStatus": self.remote_status,
                "startedAt": self.started_at, "endedAt": self.ended_at,
                "error": None if self.error is None else self.error.to_dict(),
                "errorCode": None if self.error is None else self.error.code}
        optional = {"steps": self.steps, "usage": self.usage, "retryAfter": self.retry_after}
        return {**data, **{key: value for key, value in optional.items() if value is not None}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Polled | ActivityError:
        if _failed(data):
            return ActivityError.from_dict(data, ErrorCode.PLATFORM_REJECTED)
        return cls(RunStatus(data["status"]), data.get("remoteStatus"), data.get("startedAt"), data.get("endedAt"),
                   RunError.from_value(data.get("error"), data.get("errorCode")), data.get("steps"),
                   data.get("usage"), data.get("retryAfter"))

    @property
    def error_code(self) -> ErrorCode | None:
        """The error's code when it is one this version knows (a cancel reason or a failure)."""
        if self.error is None or self.error.code not in {c.value for c in ErrorCode}:
            return None
        return ErrorCode(self.error.code)


@dataclass(frozen=True)
class CancelSent:
    """The platform took the cancel; the loop polls until the job confirms an end."""

    ok = True

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CancelSent | ActivityError:
        return ActivityError.from_dict(data) if _failed(data) else cls()


@dataclass(frozen=True)
class OutputsRead:
    """The remote job's outputs by name."""

    outputs: Mapping[str, str]

    ok = True

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True, "outputs": dict(self.outputs)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutputsRead | ActivityError:
        return ActivityError.from_dict(data) if _failed(data) else cls(dict(data.get("outputs") or {}))


RESULT_TYPES: Mapping[str, Any] = {SUBMIT_RUN: Submitted, POLL_RUN: Polled, CANCEL_RUN: CancelSent,
                                   READ_OUTPUTS: OutputsRead}


def read_result(activity: str, data: Any) -> Any:
    """The typed result of `activity` from what history holds (JSON text or data); None if it is not one."""
    data = decode_json_text(data)
    kind = RESULT_TYPES.get(activity)
    if kind is None or not isinstance(data, Mapping):
        return None
    try:
        return kind.from_dict(data)
    except (KeyError, ValueError, TypeError):
        return None


# ---- activity input ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivityCall:
    """What every run activity is handed: the run request, and once submitted, the remote job and where it
    lives (the coordinates captured at submit; credentials are resolved by connection name at call time)."""

    request: Mapping[str, Any]
    remote_run_id: str | None = None
    created_at: str | None = None
    coordinates: Mapping[str, str] = field(default_factory=dict)
    remote_status: str | None = None  # the remote status the loop last saw (a poll reads steps when it changed)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"request": dict(self.request)}
        if self.remote_run_id is not None:
            data["remoteRunId"] = self.remote_run_id
        if self.created_at is not None:
            data["createdAt"] = self.created_at
        if self.coordinates:
            data["coordinates"] = dict(self.coordinates)
        if self.remote_status is not None:
            data["remoteStatus"] = self.remote_status
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ActivityCall:
        data = decode_json_text(data)
        return cls(dict(data["request"]), data.get("remoteRunId"), data.get("createdAt"),
                   dict(data.get("coordinates") or {}), data.get("remoteStatus"))


# ---- orchestration input -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunInput:
    """The input of one execution of a run's orchestration.

    - first execution: `request` only (what a starter sends);
    - continued after polling: the record, `poll` (core.poll_policy.PollState as data), the first `wait`
      and whether the cancel was already sent;
    - continued while waiting for a busy platform: the record and `waiting` ({poll, wait}).
    `moments` are the run's key moments so far (core/timeline.py draws them); every kind carries them on.
    """

    request: Mapping[str, Any]
    run: Mapping[str, Any] | None = None
    moments: tuple[Mapping[str, Any], ...] = ()
    poll: Mapping[str, Any] | None = None
    wait: float | None = None
    cancel_sent: bool = False
    waiting: Mapping[str, Any] | None = None
    # what the run has announced as events (core/cloud_events.py): carried like the moments
    notice: Mapping[str, Any] | None = None
    events: bool = False  # the run races wake-ups (its connection's events are wired), poll_loop.py
    woken: bool = False  # a wake-up was taken just before continue-as-new: poll at once

    @property
    def polling(self) -> bool:
        """Continued after polling: the remote job exists and the loop goes on polling it."""
        return self.poll is not None

    @property
    def continued(self) -> bool:
        return self.poll is not None or bool(self.waiting)

    @classmethod
    def first(cls, request: Mapping[str, Any]) -> RunInput:
        """A new run's input. Its empty notice also says the run sends events: a run started by a version
        before events has none, so replaying its history never meets a hand-off it did not make."""
        return cls(request, notice=new_notice())

    def continued_polling(self, run: Mapping[str, Any], moments: list[Mapping[str, Any]], poll: Mapping[str, Any],
                          wait: float, cancel_sent: bool, events: bool = False, woken: bool = False) -> RunInput:
        return RunInput(self.request, run, tuple(moments), poll, wait, cancel_sent, events=events, woken=woken)

    def continued_waiting(self, run: Mapping[str, Any], moments: list[Mapping[str, Any]], poll: Mapping[str, Any],
                          wait: float) -> RunInput:
        return RunInput(self.request, run, tuple(moments), waiting={"poll": dict(poll), "wait": wait})

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"request": dict(self.request)}
        if self.run is not None:
            data.update(run=dict(self.run), moments=[dict(m) for m in self.moments])
        if self.poll is not None:
            data.update(poll=dict(self.poll), wait=self.wait, cancelSent=self.cancel_sent)
        if self.waiting:
            data["waiting"] = dict(self.waiting)
        if self.notice is not None:
            data["notice"] = dict(self.notice)
        if self.events:
            data.update(events=True, woken=self.woken)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> RunInput:
        """Any version's input (inputs sent through the SDK client arrive as JSON text, §1.7)."""
        data = decode_json_text(data)
        if not isinstance(data, Mapping) or not isinstance(data.get("request"), Mapping):
            raise ValueError("a run's orchestration input holds its request")
        run = data.get("run") if isinstance(data.get("run"), Mapping) else None
        moments = tuple(m for m in data.get("moments") or () if isinstance(m, Mapping))
        wait = data.get("wait")
        notice = data.get("notice") if isinstance(data.get("notice"), Mapping) else None
        return cls(dict(data["request"]), run, moments, data.get("poll"),
                   float(wait) if isinstance(wait, (int, float)) else None, bool(data.get("cancelSent")),
                   data.get("waiting") or None, notice, bool(data.get("events")), bool(data.get("woken")))
