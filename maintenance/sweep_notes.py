"""What the orphan sweeper did to a stopped run's remote job, shown on the run's record (issue 18 item 6), or
to the job of a run whose submit never got an answer (issue 19).

A terminated, failed or completed instance takes no more custom status, so each note is a tiny orchestration of its own
(core.protocol.SWEEP_NOTE_ORCHESTRATOR, id `<runId>~swept`) whose output is the note; the status read adds it
to the run's record (core.run_record.RunRecord.swept): the remote status the sweeper last saw and what it did.
Writing the note again replaces it (a start over a completed instance restarts it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import azure.durable_functions as df

from core.orphans import unanswered_submit
from core.payloads import decode_json_text
from core.protocol import STOPPED_RUNTIMES, SWEEP_NOTE_ORCHESTRATOR, sweep_note_id
from core.run_record import RunRecord

log = logging.getLogger("runbridge.sweeper")
bp = df.Blueprint()


@dataclass(frozen=True)
class SweepNote:
    """The remote status the sweeper saw (None: it could not look) and what it did."""

    remote_status: str | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"remoteStatus": self.remote_status, "note": self.note}

    @classmethod
    def cancel_sent(cls, remote_run_id: str, remote_status: str | None, found: bool = False) -> SweepNote:
        why = ("(the run's submit made it but never got the answer, so the run never watched it)" if found
               else "(the run had stopped on the task hub while it was still active)")
        return cls(remote_status, f"The orphan sweeper asked the platform to cancel remote job {remote_run_id} "
                                  f"{why}.")

    @classmethod
    def none_found(cls, remote_name: str) -> SweepNote:
        return cls(None, f"The orphan sweeper looked for remote job {remote_name} and the platform has none: "
                         "the run's submit made nothing; nothing is left running.")

    @classmethod
    def ended(cls, remote_run_id: str, remote_status: str | None, cancelled: bool) -> SweepNote:
        how = "after the orphan sweeper cancelled it" if cancelled else "on its own"
        return cls(remote_status, f"Remote job {remote_run_id} has ended ({remote_status}) {how}; nothing is left "
                                  "running.")

    @classmethod
    def unreachable(cls, remote_run_id: str, reason: str) -> SweepNote:
        return cls(None, f"The orphan sweeper could not reach remote job {remote_run_id}: {reason}. Cancel it on "
                         "the platform.")


@bp.orchestration_trigger(context_name="context", orchestration=SWEEP_NOTE_ORCHESTRATOR)
def orphan_note(context: df.DurableOrchestrationContext):
    """Hold a sweeper's note: its output is the note."""
    return decode_json_text(context.get_input())


async def write_note(client: df.DurableOrchestrationClient, run_id: str, note: SweepNote) -> None:
    """Keep the note beside the run; a failure only costs the note (the next sweep's finding replaces it)."""
    try:
        await client.start_new(SWEEP_NOTE_ORCHESTRATOR, sweep_note_id(run_id), note.to_dict())
    except Exception as exc:  # the task hub refused: the sweep itself stands
        log.warning("could not keep the sweeper's note on run %s: %s", run_id, exc)


async def with_sweep_note(client: df.DurableOrchestrationClient, instance: dict[str, Any],
                          record: dict[str, Any]) -> dict[str, Any]:
    """The record of a stopped run with the sweeper's note on it, if the sweeper left one."""
    if instance.get("runtimeStatus") not in STOPPED_RUNTIMES and not unanswered_submit(record):
        return record
    status = await client.get_status(sweep_note_id(str(instance.get("instanceId"))))
    note = decode_json_text(getattr(status, "output", None)) if status else None
    if not isinstance(note, dict) or not note.get("note"):
        return record
    return RunRecord.from_dict(record).swept(note.get("remoteStatus"), str(note["note"])).to_dict()
