"""An embedded storage queue with Azure Storage queue semantics, kept in the host's SQLite file.

Visibility timeout, dequeue count and the `<queue>-poison` queue behave as the Functions queue
trigger does (durable-functions.md §5 "Queue trigger"), so the app's queue starters can be tested
without Azure; a real Azure Storage queue (Azurite) can replace it behind the same methods.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from .history import format_time
from .store import Store

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
"""


@dataclass
class QueueItem:
    """A message as the trigger sees it: after this dequeue, `dequeue_count` is at least 1."""

    id: str
    queue: str
    body: str
    dequeue_count: int
    inserted: str


class EmbeddedQueues:
    """Queues named like Azure Storage queues, stored beside the instances."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as db:
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    db.execute(statement)

    def send(self, queue: str, body: str, now: datetime, delay_seconds: float = 0) -> str:
        """Add a message; return its id."""
        message_id = str(uuid.uuid4())
        with self.store.transaction() as db:
            db.execute("INSERT INTO queue_messages (id, queue, body, inserted, visible_at) VALUES (?,?,?,?,?)",
                       (message_id, queue, body, format_time(now), format_time(now + timedelta(seconds=delay_seconds))))
        return message_id

    def receive(self, queue: str, now: datetime, limit: int, visibility_seconds: float) -> list[QueueItem]:
        """Take up to `limit` visible messages, hiding them for `visibility_seconds` (a lease)."""
        hidden_until = format_time(now + timedelta(seconds=visibility_seconds))
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM queue_messages WHERE queue=? AND visible_at <= ?"
                              " ORDER BY inserted LIMIT ?", (queue, format_time(now), limit)).fetchall()
            for row in rows:
                db.execute("UPDATE queue_messages SET dequeue_count = dequeue_count + 1, visible_at=? WHERE id=?",
                           (hidden_until, row["id"]))
        return [QueueItem(r["id"], queue, r["body"], r["dequeue_count"] + 1, r["inserted"]) for r in rows]

    def delete(self, message_id: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM queue_messages WHERE id=?", (message_id,))

    def release(self, message_id: str, now: datetime, delay_seconds: float) -> None:
        """Make a failed message visible again after `delay_seconds`."""
        with self.store.transaction() as db:
            db.execute("UPDATE queue_messages SET visible_at=? WHERE id=?",
                       (format_time(now + timedelta(seconds=delay_seconds)), message_id))

    def move_to_poison(self, item: QueueItem, now: datetime) -> None:
        """Move a message that failed too often to `<queue>-poison`, as the Functions host does."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM queue_messages WHERE id=?", (item.id,))
            db.execute("INSERT INTO queue_messages (id, queue, body, inserted, visible_at) VALUES (?,?,?,?,?)",
                       (item.id, f"{item.queue}-poison", item.body, format_time(now), format_time(now)))

    def peek(self, queue: str) -> list[QueueItem]:
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM queue_messages WHERE queue=? ORDER BY inserted", (queue,)).fetchall()
        return [QueueItem(r["id"], queue, r["body"], r["dequeue_count"], r["inserted"]) for r in rows]

    def next_visible(self, queues: list[str]) -> str | None:
        if not queues:
            return None
        with self.store.transaction() as db:
            row = db.execute(f"SELECT MIN(visible_at) AS due FROM queue_messages WHERE queue IN "
                             f"({','.join('?' * len(queues))})", queues).fetchone()
        return row["due"] if row else None
