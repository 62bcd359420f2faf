"""The instance store: every instance, its event log and its pending messages, in SQLite (WAL).

The design follows DTFx's: an instance's inbox holds messages (ExecutionStarted, TaskCompleted,
TimerFired with a due time, EventRaised...); an episode consumes the visible ones and commits its new
history, new messages and new activity work items in one transaction. A host killed at any point
restarts from the last commit: unconsumed messages are delivered again and activity work items that
were running are run again (at-least-once, as in Azure).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .entities import EntityState, Operation
from .history import EventType, event, execution_started, format_time

TERMINAL = ("Completed", "Failed", "Terminated", "Canceled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    input TEXT,                 -- JSON text of the input token
    status TEXT NOT NULL,       -- Pending, Running, Suspended, Completed, Failed, Terminated
    custom_status TEXT,         -- JSON text
    output TEXT,                -- JSON text
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    parent_id TEXT,
    parent_execution_id TEXT,
    parent_task_id INTEGER,
    state TEXT NOT NULL         -- JSON: the episode bookkeeping of the current execution
);
CREATE INDEX IF NOT EXISTS instances_created ON instances(created);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    execution_id TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,          -- NULL: for whichever execution is current (events, terminate)
    visible_at TEXT NOT NULL,
    timer_id INTEGER,           -- set on TimerFired, so a cancelled timer's message can be dropped
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_due ON messages(visible_at);
CREATE INDEX IF NOT EXISTS messages_instance ON messages(instance_id, id);
CREATE TABLE IF NOT EXISTS work (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS entities (
    id TEXT PRIMARY KEY,        -- scheduler id @name@key (name in lower case)
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,        -- JSON text of the state, as the SDK wrote it
    updated TEXT NOT NULL       -- last operation time
);
CREATE TABLE IF NOT EXISTS entity_ops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order: operations run in it, per sender and overall
    entity_id TEXT NOT NULL,
    name TEXT NOT NULL,
    input TEXT,                 -- JSON text
    request_id TEXT,            -- a call's response event name; NULL for a signal
    parent_id TEXT,
    parent_execution_id TEXT,
    visible_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entity_ops_entity ON entity_ops(entity_id, id);
"""


@dataclass(frozen=True)
class ParentLink:
    """Where a sub-orchestration reports its result: the parent's instance, execution and task id."""

    instance_id: str
    execution_id: str
    task_id: int
    name: str


class InstanceExists(Exception):
    """An instance with this id is still running, so it cannot be started again."""


class StaleEpisode(Exception):
    """The instance changed while an episode ran (terminated, suspended, purged, restarted): its outcome
    is dropped and the messages it read stay in the inbox for whatever comes next."""


@dataclass
class InstanceRow:
    """One row of `instances`, decoded."""

    id: str
    name: str
    execution_id: str
    input: Any
    status: str
    custom_status: Any
    output: Any
    created: str
    updated: str
    parent_id: str | None
    parent_execution_id: str | None
    parent_task_id: int | None
    state: dict[str, Any]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> InstanceRow:
        return cls(row["id"], row["name"], row["execution_id"], _loads(row["input"]), row["status"],
                   _loads(row["custom_status"]), _loads(row["output"]), row["created"], row["updated"],
                   row["parent_id"], row["parent_execution_id"], row["parent_task_id"],
                   json.loads(row["state"]))


@dataclass
class WorkItem:
    """An activity invocation waiting to run (or running: it is deleted when its result is stored)."""

    id: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None


class Store:
    """SQLite-backed instances, history, inbox and activity work, safe to share between threads."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._history: dict[str, tuple[str, list[dict[str, Any]]]] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; nothing it wrote survives a crash before it ends."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                self._history.clear()
                raise
            self._db.execute("COMMIT")

    # ---- instances -------------------------------------------------------------------------
    def create_instance(self, instance_id: str, name: str, input_token: Any, now: datetime,
                        version: str | None = None) -> str:
        """Create (or replace a finished) instance and post its ExecutionStarted; return execution id."""
        with self.transaction() as db:
            return self._create(db, instance_id, name, input_token, now, version=version)

    def _create(self, db: sqlite3.Connection, instance_id: str, name: str, input_token: Any, now: datetime,
                parent: ParentLink | None = None, version: str | None = None) -> str:
        row = db.execute("SELECT status FROM instances WHERE id=?", (instance_id,)).fetchone()
        if row is not None and row["status"] not in TERMINAL:
            raise InstanceExists(f"An instance with ID '{instance_id}' already exists and is {row['status']}.")
        if row is not None:
            self._delete_instance(db, instance_id)
        execution_id = uuid.uuid4().hex
        stamp = format_time(now)
        db.execute(
            "INSERT INTO instances (id, name, execution_id, input, status, created, updated, parent_id,"
            " parent_execution_id, parent_task_id, state) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (instance_id, name, execution_id, json.dumps(input_token), "Pending", stamp, stamp,
             parent.instance_id if parent else None, parent.execution_id if parent else None,
             parent.task_id if parent else None, "{}"))
        parent_info = None
        if parent:
            parent_info = {"Name": parent.name, "Version": None, "TaskScheduleId": parent.task_id,
                           "OrchestrationInstance": {"InstanceId": parent.instance_id,
                                                     "ExecutionId": parent.execution_id}}
        started = execution_started(now, name, json.dumps(input_token), instance_id, execution_id, parent_info,
                                    version)
        self._post(db, instance_id, None, started, now)
        return execution_id

    def get(self, instance_id: str) -> InstanceRow | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM instances WHERE id=?", (instance_id,)).fetchone()
        return InstanceRow.from_row(row) if row else None

    def query(self, *, created_from: str | None = None, created_to: str | None = None,
              statuses: Iterable[str] | None = None, prefix: str | None = None, limit: int = 100,
              after: str | None = None) -> list[InstanceRow]:
        """Instances by creation time, status and id prefix, ordered by (created, id); paged by `after`."""
        sql, args = "SELECT * FROM instances WHERE 1=1", []
        if created_from:
            sql, args = sql + " AND created >= ?", [*args, created_from]
        if created_to:
            sql, args = sql + " AND created <= ?", [*args, created_to]
        statuses = [s for s in (statuses or []) if s]
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args += statuses
        if prefix:
            sql, args = sql + " AND substr(id, 1, ?) = ?", [*args, len(prefix), prefix]
        if after:
            created, _, last_id = after.partition("|")
            sql += " AND (created > ? OR (created = ? AND id > ?))"
            args += [created, created, last_id]
        sql += " ORDER BY created, id LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [InstanceRow.from_row(r) for r in rows]

    def history(self, instance_id: str, all_executions: bool = False) -> list[dict[str, Any]]:
        """The event log of the current execution (or of every execution, oldest first)."""
        with self._lock:
            row = self._db.execute("SELECT execution_id FROM instances WHERE id=?", (instance_id,)).fetchone()
            if row is None:
                return []
            if all_executions:
                rows = self._db.execute("SELECT event FROM history WHERE instance_id=? ORDER BY seq",
                                        (instance_id,)).fetchall()
                return [json.loads(r["event"]) for r in rows]
            return list(self._current_history(instance_id, row["execution_id"]))

    def _current_history(self, instance_id: str, execution_id: str) -> list[dict[str, Any]]:
        cached = self._history.get(instance_id)
        if cached and cached[0] == execution_id:
            return cached[1]
        rows = self._db.execute("SELECT event FROM history WHERE instance_id=? AND execution_id=? ORDER BY seq",
                                (instance_id, execution_id)).fetchall()
        events = [json.loads(r["event"]) for r in rows]
        if len(self._history) > 2048:
            self._history.clear()
        self._history[instance_id] = (execution_id, events)
        return events

    def purge(self, instance_id: str) -> int:
        with self.transaction() as db:
            row = db.execute("SELECT status FROM instances WHERE id=?", (instance_id,)).fetchone()
            if row is None or row["status"] not in TERMINAL:
                return 0
            self._delete_instance(db, instance_id)
            return 1

    def _delete_instance(self, db: sqlite3.Connection, instance_id: str) -> None:
        for table, column in (("instances", "id"), ("history", "instance_id"), ("messages", "instance_id"),
                              ("work", "instance_id")):
            db.execute(f"DELETE FROM {table} WHERE {column}=?", (instance_id,))
        self._history.pop(instance_id, None)

    def set_status(self, instance_id: str, status: str, now: datetime) -> None:
        with self.transaction() as db:
            db.execute("UPDATE instances SET status=?, updated=? WHERE id=?", (status, format_time(now), instance_id))

    def change_status(self, instance_id: str, to: str, now: datetime, *, only_from: Iterable[str]) -> str | None:
        """Set the status if it is one of `only_from`, atomically; return the status found (None: no instance).

        Suspend and resume go through here, so they can never interleave with a terminate or an episode commit.
        """
        with self.transaction() as db:
            row = db.execute("SELECT status FROM instances WHERE id=?", (instance_id,)).fetchone()
            if row is None:
                return None
            if row["status"] in tuple(only_from):
                db.execute("UPDATE instances SET status=?, updated=? WHERE id=?", (to, format_time(now), instance_id))
            return str(row["status"])

    def post_event(self, instance_id: str, ev: dict[str, Any], now: datetime) -> str | None:
        """Post an event to an instance that has not ended, atomically; return the status found (None: none)."""
        with self.transaction() as db:
            row = db.execute("SELECT status FROM instances WHERE id=?", (instance_id,)).fetchone()
            if row is not None and row["status"] not in TERMINAL:
                self._post(db, instance_id, None, ev, now)
            return None if row is None else str(row["status"])

    # ---- messages --------------------------------------------------------------------------
    def post(self, instance_id: str, execution_id: str | None, ev: dict[str, Any], visible_at: datetime) -> None:
        """Put one message in an instance's inbox."""
        with self.transaction() as db:
            self._post(db, instance_id, execution_id, ev, visible_at)

    def _post(self, db: sqlite3.Connection, instance_id: str, execution_id: str | None, ev: dict[str, Any],
              visible_at: datetime) -> None:
        timer_id = ev.get("TimerId") if ev["EventType"] == EventType.TimerFired else None
        db.execute("INSERT INTO messages (instance_id, execution_id, visible_at, timer_id, event) VALUES (?,?,?,?,?)",
                   (instance_id, execution_id, format_time(visible_at), timer_id, json.dumps(ev)))

    def ready_instances(self, now: datetime, exclude: set[str], limit: int = 64) -> list[str]:
        """Instances with at least one visible message, not suspended, oldest message first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT m.instance_id, MIN(m.id) AS first FROM messages m JOIN instances i ON i.id = m.instance_id"
                " WHERE m.visible_at <= ? AND i.status != 'Suspended' GROUP BY m.instance_id ORDER BY first"
                " LIMIT ?", (format_time(now), limit + len(exclude))).fetchall()
        return [r["instance_id"] for r in rows if r["instance_id"] not in exclude][:limit]

    def next_due(self) -> str | None:
        """When the earliest message not yet visible becomes visible (a timer, a retry delay), entity
        operations included."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(due) AS due FROM (SELECT MIN(m.visible_at) AS due FROM messages m"
                " JOIN instances i ON i.id = m.instance_id WHERE i.status != 'Suspended'"
                " UNION ALL SELECT MIN(visible_at) FROM entity_ops)").fetchone()
        return row["due"] if row else None

    def take_messages(self, instance_id: str, now: datetime) -> list[tuple[int, str | None, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, execution_id, event FROM messages WHERE instance_id=? AND visible_at <= ? ORDER BY id",
                (instance_id, format_time(now))).fetchall()
        return [(r["id"], r["execution_id"], json.loads(r["event"])) for r in rows]

    # ---- episodes --------------------------------------------------------------------------
    def commit_episode(self, inst: InstanceRow, consumed: list[int], events: list[dict[str, Any]],
                       *, status: str, custom_status: Any, output: Any, state: dict[str, Any], now: datetime,
                       new_execution_id: str | None = None, new_input: Any = None,
                       messages: Iterable[tuple] = (),
                       cancelled_timers: Iterable[int] = (), work: Iterable[tuple[int, str, str | None]] = (),
                       children: Iterable[tuple[str, str, Any, int, str | None]] = (), drop_pending: bool = False,
                       entity_ops: Iterable[tuple[str, str, str | None, str | None]] = ()) -> list[int]:
        """Commit one episode atomically; return the ids of the activity work items it created.

        `children` are sub-orchestrations to create (id, name, input token, parent task id, version); one
        whose id is still running fails its parent task instead, as DTFx does. `entity_ops` are
        signals and calls (entity id, operation, input text, request id or None) sent by this episode.
        """
        stamp = format_time(now)
        work_ids: list[int] = []
        with self.transaction() as db:
            # The commit re-checks what the episode read, under the store's write lock: a command that
            # landed meanwhile wins, as the extension's messages would (durable-functions.md §2.4).
            row = db.execute("SELECT status, execution_id FROM instances WHERE id=?", (inst.id,)).fetchone()
            if row is None or (row["status"], row["execution_id"]) != (inst.status, inst.execution_id):
                raise StaleEpisode(inst.id)
            if consumed:
                db.execute(f"DELETE FROM messages WHERE id IN ({','.join('?' * len(consumed))})", consumed)
            history = self._current_history(inst.id, inst.execution_id) if events else []
            base = db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM history WHERE instance_id=?",
                              (inst.id,)).fetchone()[0]
            stored = []
            for offset, ev in enumerate(events):
                played = {**ev, "IsPlayed": True}  # next episode replays it (§1.3 IsPlayed)
                stored.append(played)
                db.execute("INSERT INTO history (instance_id, seq, execution_id, event) VALUES (?,?,?,?)",
                           (inst.id, base + offset, inst.execution_id, json.dumps(played)))
            for seq in cancelled_timers:
                db.execute("DELETE FROM messages WHERE instance_id=? AND execution_id=? AND timer_id=?",
                           (inst.id, inst.execution_id, seq))
            if drop_pending:
                db.execute("DELETE FROM messages WHERE instance_id=? AND execution_id IS NOT NULL", (inst.id,))
                db.execute("DELETE FROM work WHERE instance_id=?", (inst.id,))
            for instance_id, execution_id, ev, visible_at in messages:
                self._post(db, instance_id, execution_id, ev, visible_at)
            for child_id, name, input_token, task_id, version in children:
                try:
                    self._create(db, child_id, name, input_token, now,
                                 ParentLink(inst.id, inst.execution_id, task_id, inst.name), version)
                except InstanceExists as exc:
                    failed = event(EventType.SubOrchestrationInstanceFailed, now, TaskScheduledId=task_id,
                                   Reason=str(exc), Details=None)
                    self._post(db, inst.id, inst.execution_id, failed, now)
            for entity_id, op_name, op_input, op_request in entity_ops:
                self._post_entity_op(db, entity_id, op_name, op_input, op_request, inst.id, inst.execution_id, now)
            for task_id, name, input_text in work:
                cur = db.execute("INSERT INTO work (instance_id, execution_id, task_id, name, input)"
                                 " VALUES (?,?,?,?,?)", (inst.id, inst.execution_id, task_id, name, input_text))
                work_ids.append(int(cur.lastrowid))
            db.execute("UPDATE instances SET status=?, custom_status=?, output=?, updated=?, state=?, execution_id=?"
                       " WHERE id=?",
                       (status, json.dumps(custom_status), json.dumps(output), stamp, json.dumps(state),
                        new_execution_id or inst.execution_id, inst.id))
            if new_execution_id:
                db.execute("UPDATE instances SET input=? WHERE id=?", (json.dumps(new_input), inst.id))
                self._history.pop(inst.id, None)
            elif events:
                history.extend(stored)
                self._history[inst.id] = (inst.execution_id, history)
        return work_ids

    def drop_messages(self, ids: list[int]) -> None:
        if ids:
            with self.transaction() as db:
                db.execute(f"DELETE FROM messages WHERE id IN ({','.join('?' * len(ids))})", ids)

    def terminate(self, instance_id: str, reason: str, now: datetime) -> InstanceRow | None:
        """End an instance at once with status Terminated (durable-functions.md §1.6 "Terminate")."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM instances WHERE id=?", (instance_id,)).fetchone()
            if row is None or row["status"] in TERMINAL:
                return InstanceRow.from_row(row) if row else None
            inst = InstanceRow.from_row(row)
            base = db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM history WHERE instance_id=?",
                              (instance_id,)).fetchone()[0]
            for offset, ev in enumerate([event(EventType.ExecutionTerminated, now, Input=reason),
                                         event(EventType.ExecutionCompleted, now, OrchestrationStatus=5,
                                               Result=reason, FailureDetails=None)]):
                db.execute("INSERT INTO history (instance_id, seq, execution_id, event) VALUES (?,?,?,?)",
                           (instance_id, base + offset, inst.execution_id, json.dumps({**ev, "IsPlayed": True})))
            db.execute("DELETE FROM messages WHERE instance_id=?", (instance_id,))
            db.execute("DELETE FROM work WHERE instance_id=?", (instance_id,))
            db.execute("UPDATE instances SET status='Terminated', output=?, updated=? WHERE id=?",
                       (json.dumps(reason), format_time(now), instance_id))
            self._history.pop(instance_id, None)
            inst.status, inst.output = "Terminated", reason
            return inst

    def rewind(self, instance_id: str, reason: str, now: datetime) -> list[WorkItem]:
        """Rewind a Failed instance whose failure came from activities: its failed activities run again.

        As DTFx's rewind does for them: the failed tasks' TaskFailed events and the failed ExecutionCompleted
        leave the history (a GenericEvent records the rewind), the tasks are open again and the instance is
        Running; replay then waits for their new results. Raises ValueError naming what devhost cannot rewind
        (a failed sub-orchestration, a task with retry options); returns the work items to run.
        """
        with self.transaction() as db:
            row = db.execute("SELECT * FROM instances WHERE id=?", (instance_id,)).fetchone()
            if row is None or row["status"] != "Failed":
                raise LookupError(row["status"] if row else None)
            inst = InstanceRow.from_row(row)
            rows = db.execute("SELECT seq, event FROM history WHERE instance_id=? AND execution_id=? ORDER BY seq",
                              (instance_id, inst.execution_id)).fetchall()
            events = [(r["seq"], json.loads(r["event"])) for r in rows]
            scheduled = {e["EventId"]: e for _, e in events if e["EventType"] == EventType.TaskScheduled}
            if any(e["EventType"] == EventType.SubOrchestrationInstanceFailed for _, e in events):
                raise ValueError("devhost rewinds failed activities only, not failed sub-orchestrations")
            # The host's retry loop appends a TimerCreated right after a failed attempt (§1.6 "Retry").
            if any(a["EventType"] == EventType.TaskFailed and b["EventType"] == EventType.TimerCreated
                   for (_, a), (_, b) in itertools.pairwise(events)):
                raise ValueError("devhost does not rewind tasks that have retry options")
            failed = [(seq, e) for seq, e in events if e["EventType"] == EventType.TaskFailed]
            ended = [seq for seq, e in events if e["EventType"] == EventType.ExecutionCompleted]
            if not failed or not ended:
                raise ValueError("the instance failed in its own code, not in an activity: rewinding it would "
                                 "fail it again")
            drop = [seq for seq, _ in failed] + ended
            db.execute(f"DELETE FROM history WHERE instance_id=? AND seq IN ({','.join('?' * len(drop))})",
                       [instance_id, *drop])
            base = db.execute("SELECT MAX(seq) + 1 FROM history WHERE instance_id=?", (instance_id,)).fetchone()[0]
            marker = {**event(EventType.GenericEvent, now, Data=f"Rewound: {reason}"), "IsPlayed": True}
            db.execute("INSERT INTO history (instance_id, seq, execution_id, event) VALUES (?,?,?,?)",
                       (instance_id, base, inst.execution_id, json.dumps(marker)))
            state = dict(inst.state)
            state["open"] = {**state.get("open", {}), **{str(e["TaskScheduledId"]): "activity" for _, e in failed}}
            items = []
            for _, e in failed:
                task = scheduled[e["TaskScheduledId"]]
                input_text = json.loads(task["Input"])[0] if task.get("Input") else None
                cur = db.execute("INSERT INTO work (instance_id, execution_id, task_id, name, input)"
                                 " VALUES (?,?,?,?,?)",
                                 (instance_id, inst.execution_id, task["EventId"], task["Name"], input_text))
                items.append(WorkItem(int(cur.lastrowid), instance_id, inst.execution_id, task["EventId"],
                                      task["Name"], input_text))
            db.execute("UPDATE instances SET status='Running', output=NULL, updated=?, state=? WHERE id=?",
                       (format_time(now), json.dumps(state), instance_id))
            self._history.pop(instance_id, None)
            return items

    # ---- activity work ---------------------------------------------------------------------
    def pending_work(self) -> list[WorkItem]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM work ORDER BY id").fetchall()
        return [WorkItem(r["id"], r["instance_id"], r["execution_id"], r["task_id"], r["name"], r["input"])
                for r in rows]

    def finish_work(self, item: WorkItem, ev: dict[str, Any], now: datetime) -> None:
        """Store an activity's result as a message for its instance and retire the work item."""
        with self.transaction() as db:
            cur = db.execute("DELETE FROM work WHERE id=?", (item.id,))
            if cur.rowcount:
                self._post(db, item.instance_id, item.execution_id, ev, now)

    # ---- entities ---------------------------------------------------------------------------
    def post_entity_op(self, entity_id: str, name: str, input_text: str | None, now: datetime) -> None:
        """Queue a signal from a client (no response goes anywhere)."""
        with self.transaction() as db:
            self._post_entity_op(db, entity_id, name, input_text, None, None, None, now)

    def _post_entity_op(self, db: sqlite3.Connection, entity_id: str, name: str, input_text: str | None,
                        request: str | None, parent_id: str | None, parent_execution_id: str | None,
                        now: datetime) -> None:
        db.execute("INSERT INTO entity_ops (entity_id, name, input, request_id, parent_id, parent_execution_id,"
                   " visible_at) VALUES (?,?,?,?,?,?,?)",
                   (entity_id, name, input_text, request, parent_id, parent_execution_id, format_time(now)))

    def ready_entities(self, now: datetime, limit: int = 64) -> list[str]:
        """Entities with queued operations, the one waiting longest first."""
        with self._lock:
            rows = self._db.execute("SELECT entity_id, MIN(id) AS first FROM entity_ops WHERE visible_at <= ?"
                                    " GROUP BY entity_id ORDER BY first LIMIT ?", (format_time(now), limit)).fetchall()
        return [r["entity_id"] for r in rows]

    def take_entity_ops(self, entity_id: str, now: datetime, limit: int = 100) -> list[Operation]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM entity_ops WHERE entity_id=? AND visible_at <= ? ORDER BY id"
                                    " LIMIT ?", (entity_id, format_time(now), limit)).fetchall()
        return [Operation(r["id"], r["name"], r["input"], r["request_id"], r["parent_id"], r["parent_execution_id"])
                for r in rows]

    def entity(self, entity_id: str) -> EntityState:
        with self._lock:
            row = self._db.execute("SELECT state FROM entities WHERE id=?", (entity_id,)).fetchone()
        return EntityState(True, row["state"]) if row else EntityState(False, None)

    def commit_entity_batch(self, entity_id: str, name: str, key: str, consumed: list[int], after: EntityState,
                            responses: Iterable[tuple[str, str | None, dict[str, Any]]], now: datetime) -> None:
        """Store a batch's outcome atomically: operations consumed, the state (or its deletion), responses."""
        with self.transaction() as db:
            db.execute(f"DELETE FROM entity_ops WHERE id IN ({','.join('?' * len(consumed))})", consumed)
            if after.exists:
                db.execute("INSERT INTO entities (id, name, key, state, updated) VALUES (?,?,?,?,?) ON CONFLICT(id)"
                           " DO UPDATE SET state=excluded.state, updated=excluded.updated",
                           (entity_id, name, key, after.state_text or "null", format_time(now)))
            else:
                db.execute("DELETE FROM entities WHERE id=?", (entity_id,))
            for instance_id, execution_id, ev in responses:
                # A caller that ended or was purged meanwhile takes no more messages.
                caller = db.execute("SELECT status FROM instances WHERE id=?", (instance_id,)).fetchone()
                if caller is not None and caller["status"] not in TERMINAL:
                    self._post(db, instance_id, execution_id, ev, now)

    def query_entities(self, name: str | None = None, limit: int = 100,
                       after: str | None = None) -> list[tuple[str, str, str, str]]:
        """(name, key, state text, last operation time) of existing entities, by id; paged by `after`."""
        sql, args = "SELECT id, name, key, state, updated FROM entities WHERE 1=1", []
        if name:
            sql, args = sql + " AND name = ?", [*args, name.lower()]
        if after:
            sql, args = sql + " AND id > ?", [*args, after]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id LIMIT ?", [*args, limit]).fetchall()
        return [(r["name"], r["key"], r["state"], r["updated"]) for r in rows]

    # ---- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                       " ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) AS n FROM instances GROUP BY status").fetchall()
        return {r["status"]: r["n"] for r in rows}


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
