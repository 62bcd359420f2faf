"""Where devhost's queue triggers read and queue output bindings write: a `QueueSource`.

Two sources, chosen by the `AzureWebJobsStorage` setting as the Functions host chooses its storage
account (`open_queue_source`):
- absent: `EmbeddedQueues`, below, kept in the host's SQLite file and timed by the host's clock (virtual
  in tests), so the app's queue starters run with no Azure and no Node;
- `UseDevelopmentStorage=true` or a connection string: `AzureStorageQueues` (devhost/azure_queues.py),
  real Azure Storage queues through azure-storage-queue, e.g. on Azurite.

Both keep Azure's semantics: a received message is hidden for a lease and its dequeue count grows by
one; the trigger runner (devhost/triggers.py) deletes it on success, makes it visible again after
host.json `visibilityTimeout` on failure, and moves it to `<queue>-poison` after `maxDequeueCount`
(durable-functions.md §5 "Queue trigger").
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from .history import format_time
from .store import Store

STORAGE_SETTING = "AzureWebJobsStorage"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_messages (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    dequeue_count INTEGER NOT NULL DEFAULT 0,
    inserted TEXT NOT NULL,
    visible_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_due ON queue_messages(queue, visible_at);
CREATE TABLE IF NOT EXISTS queue_names (name TEXT PRIMARY KEY)
"""
# Added after the first release of the table: ALTERed in when an older store lacks them.
_COLUMNS = {"wire": "TEXT", "undecodable": "INTEGER NOT NULL DEFAULT 0", "receipt": "TEXT"}


@dataclass
class QueueItem:
    """A message as the trigger sees it: after this dequeue, `dequeue_count` is at least 1."""

    id: str
    queue: str
    body: str
    dequeue_count: int
    inserted: str
    receipt: str | None = None  # Azure's pop receipt: what delete and update need
    wire: str | None = None  # the text as stored on an Azure queue (base64): copied as-is to the poison queue
    undecodable: bool = False  # its wire text is not in the queue's encoding: the trigger never gets it
    visible_at: str | None = None  # embedded queues: when it is next visible


class QueueSource(Protocol):
    """The queue operations the trigger runner and the output bindings need."""

    kind: str
    # True when messages live outside the host (Azure Storage): they are polled on wall time with the
    # Functions host's back-off, and their visibility timeouts run on wall time, not on the host clock.
    remote: bool

    def send(self, queue: str, body: str, now: datetime, delay_seconds: float = 0) -> str:
        """Add a message; return its id."""

    def receive(self, queue: str, now: datetime, limit: int, visibility_seconds: float) -> list[QueueItem]:
        """Take up to `limit` visible messages, hiding them for `visibility_seconds` (a lease)."""

    def delete(self, item: QueueItem) -> None: ...

    def release(self, item: QueueItem, now: datetime, delay_seconds: float) -> None:
        """Make a failed message visible again after `delay_seconds`."""

    def move_to_poison(self, item: QueueItem, now: datetime) -> None:
        """Move a message to `<queue>-poison`, unchanged."""

    def peek(self, queue: str) -> list[QueueItem]:
        """The messages of a queue (Azure: the visible ones, at most 32), without receiving them."""

    def next_visible(self, queues: list[str]) -> str | None:
        """When the next message of these queues becomes visible; None when none is known to."""

    def close(self) -> None: ...


def storage_setting(environ: Mapping[str, str] | None = None) -> str | None:
    """The `AzureWebJobsStorage` app setting (names compare ignoring case, as the Functions host's do)."""
    environ = os.environ if environ is None else environ
    value = next((v for k, v in environ.items() if k.upper() == STORAGE_SETTING.upper()), None)
    return value.strip() if value and value.strip() else None


def open_queue_source(store: Store, storage: str | None, host_json: Mapping[str, Any] | None = None) -> QueueSource:
    """The embedded queues when `storage` is empty; Azure Storage queues for a connection string."""
    if not storage:
        return EmbeddedQueues(store)
    try:
        from .azure_queues import AzureStorageQueues, message_encoding
    except ImportError as exc:  # azure-storage-queue is a development requirement, not the app's
        raise RuntimeError(f"{STORAGE_SETTING} is set, so devhost reads queue triggers from Azure Storage, which "
                           "needs azure-storage-queue: pip install -r requirements-dev.txt (or unset "
                           f"{STORAGE_SETTING} to use the embedded queue)") from exc
    return AzureStorageQueues(storage, encoding=message_encoding(host_json or {}))


def _message_id(item: QueueItem | str) -> str:
    return item if isinstance(item, str) else item.id


def _item(row: Any, **changes: Any) -> QueueItem:
    fields = {"id": row["id"], "queue": row["queue"], "body": row["body"], "dequeue_count": row["dequeue_count"],
              "inserted": row["inserted"], "receipt": row["receipt"], "wire": row["wire"],
              "undecodable": bool(row["undecodable"]), "visible_at": row["visible_at"]}
    return QueueItem(**{**fields, **changes})


class EmbeddedQueues:
    """Queues named like Azure Storage queues, stored beside the instances."""

    kind = "embedded"
    remote = False

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as db:
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    db.execute(statement)
            present = {row["name"] for row in db.execute("PRAGMA table_info(queue_messages)")}
            for column, kind in _COLUMNS.items():
                if column not in present:
                    db.execute(f"ALTER TABLE queue_messages ADD COLUMN {column} {kind}")

    def send(self, queue: str, body: str, now: datetime, delay_seconds: float = 0, *, wire: str | None = None,
             undecodable: bool = False, receipt: str | None = None) -> str:
        """Add a message; return its id. `wire`: the text exactly as a Queue service client wrote it
        (devhost/queue_service.py), kept so readers get it back unchanged; `receipt`: its first pop receipt."""
        message_id = str(uuid.uuid4())
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO queue_names (name) VALUES (?)", (queue,))
            db.execute("INSERT INTO queue_messages (id, queue, body, inserted, visible_at, wire, undecodable, receipt)"
                       " VALUES (?,?,?,?,?,?,?,?)",
                       (message_id, queue, body, format_time(now), format_time(now + timedelta(seconds=delay_seconds)),
                        wire, int(undecodable), receipt or str(uuid.uuid4())))
        return message_id

    def receive(self, queue: str, now: datetime, limit: int, visibility_seconds: float) -> list[QueueItem]:
        """Take up to `limit` visible messages, hiding them for `visibility_seconds` (a lease with a new
        pop receipt)."""
        hidden_until = format_time(now + timedelta(seconds=visibility_seconds))
        items = []
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM queue_messages WHERE queue=? AND visible_at <= ?"
                              " ORDER BY inserted LIMIT ?", (queue, format_time(now), limit)).fetchall()
            for row in rows:
                receipt = str(uuid.uuid4())
                db.execute("UPDATE queue_messages SET dequeue_count = dequeue_count + 1, visible_at=?, receipt=?"
                           " WHERE id=?", (hidden_until, receipt, row["id"]))
                items.append(_item(row, dequeue_count=row["dequeue_count"] + 1, receipt=receipt,
                                   visible_at=hidden_until))
        return items

    def delete(self, item: QueueItem | str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM queue_messages WHERE id=?", (_message_id(item),))

    def delete_leased(self, queue: str, message_id: str, receipt: str) -> bool:
        """Delete a message if `receipt` is its current pop receipt (Delete Message); False when not."""
        with self.store.transaction() as db:
            done = db.execute("DELETE FROM queue_messages WHERE id=? AND queue=? AND receipt=?",
                              (message_id, queue, receipt))
            return done.rowcount == 1

    def exists(self, queue: str) -> bool:
        """True once the queue was created or written to (queues outlive their messages)."""
        with self.store.transaction() as db:
            return db.execute("SELECT 1 FROM queue_names WHERE name=?", (queue,)).fetchone() is not None

    def create(self, queue: str) -> bool:
        """Create a queue; False when it existed."""
        with self.store.transaction() as db:
            return db.execute("INSERT OR IGNORE INTO queue_names (name) VALUES (?)", (queue,)).rowcount == 1

    def release(self, item: QueueItem | str, now: datetime, delay_seconds: float) -> None:
        """Make a failed message visible again after `delay_seconds`."""
        with self.store.transaction() as db:
            db.execute("UPDATE queue_messages SET visible_at=? WHERE id=?",
                       (format_time(now + timedelta(seconds=delay_seconds)), _message_id(item)))

    def move_to_poison(self, item: QueueItem, now: datetime) -> None:
        """Move a message that failed too often to `<queue>-poison`, as the Functions host does."""
        poison = f"{item.queue}-poison"
        with self.store.transaction() as db:
            db.execute("DELETE FROM queue_messages WHERE id=?", (item.id,))
            db.execute("INSERT OR IGNORE INTO queue_names (name) VALUES (?)", (poison,))
            db.execute("INSERT INTO queue_messages (id, queue, body, inserted, visible_at, wire, undecodable, receipt)"
                       " VALUES (?,?,?,?,?,?,?,?)",
                       (item.id, poison, item.body, format_time(now), format_time(now), item.wire,
                        int(item.undecodable), str(uuid.uuid4())))

    def peek(self, queue: str) -> list[QueueItem]:
        """Every message of the queue, hidden ones included (what a test or the host looks at)."""
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM queue_messages WHERE queue=? ORDER BY inserted", (queue,)).fetchall()
        return [_item(r) for r in rows]

    def next_visible(self, queues: list[str]) -> str | None:
        if not queues:
            return None
        with self.store.transaction() as db:
            row = db.execute(f"SELECT MIN(visible_at) AS due FROM queue_messages WHERE queue IN "
                             f"({','.join('?' * len(queues))})", queues).fetchone()
        return row["due"] if row else None

    def close(self) -> None:
        """Nothing to close: the messages live in the host's store."""
