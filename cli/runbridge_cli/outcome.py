"""The exit codes, documented and stable: what a scheduler reads to know how the run went."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """The command's exit status; the values never change (README, "A command line for schedulers")."""

    SUCCESS = 0  # the run ended Success (or a command that starts or reads something did it)
    FAILED = 1  # the run ended Failed
    CANCELLED = 2  # the run ended Cancelled, or was cancelled on a signal (the cancel was sent)
    # The wait gave up (--max-wait, --detach-on-interrupt), or the run is in no ended status when the command
    # stops (`status` of a live run, Unknown included: runbridge never ends a run Unknown, it cancels one
    # stuck there past its budget and ends it Failed).
    GAVE_UP = 3
    # refused: a 4xx from runbridge, or its 502 for a platform refusing the connection (error printed), or a
    # bad command line
    REFUSED = 4
    UNREACHABLE = 5  # runbridge could not be reached, or answered 5xx, after retries


# The statuses of a run (or chain) that has ended. Not `endedAt`: a run can carry the remote job's end time
# while runbridge still reads its outputs (Running, remote Completed).
ENDED = {"Success": ExitCode.SUCCESS, "Failed": ExitCode.FAILED, "Cancelled": ExitCode.CANCELLED}


def has_ended(record: Mapping[str, Any]) -> bool:
    """True once the run or chain is over: its status is an ended one."""
    return record.get("status") in ENDED


def exit_code_for(record: Mapping[str, Any]) -> ExitCode:
    """The exit code for a record: its ended status, or GAVE_UP while it is live."""
    return ENDED.get(str(record.get("status")), ExitCode.GAVE_UP)
