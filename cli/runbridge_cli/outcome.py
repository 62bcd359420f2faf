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
    GAVE_UP = 3  # the wait gave up (--max-wait, --detach-on-interrupt), or the run ended Unknown
    REFUSED = 4  # the request was refused: a 4xx from runbridge (its error printed), or a bad command line
    UNREACHABLE = 5  # runbridge could not be reached, or answered 5xx, after retries


# What a run (or chain) that has ended says; "NotRun" is a chain step the chain never started.
ENDED = {"Success": ExitCode.SUCCESS, "Failed": ExitCode.FAILED, "Cancelled": ExitCode.CANCELLED}


def has_ended(record: Mapping[str, Any]) -> bool:
    """True once the run or chain is over: an ended status, or an end time whatever the status says."""
    return record.get("status") in ENDED or bool(record.get("endedAt"))


def exit_code_for(record: Mapping[str, Any]) -> ExitCode:
    """The exit code for a record: its ended status, or GAVE_UP while it is live or ended in no known status."""
    return ENDED.get(str(record.get("status")), ExitCode.GAVE_UP)
