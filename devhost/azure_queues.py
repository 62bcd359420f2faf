"""Azure Storage queues (Azurite locally) as devhost's queue source, through azure-storage-queue.

Chosen when the `AzureWebJobsStorage` setting is `UseDevelopmentStorage=true` or a connection string
(devhost/queues.py `open_queue_source`). It keeps the Functions queue extension's (5.x) behaviour:

- Message encoding: host.json `extensions.queues.messageEncoding`, `base64` by default (the extension's
  default since 5.0.0-beta.2; `none` sends and reads the text as it is). With base64, a message is
  base64 of its UTF-8 text on the wire; the trigger gets the decoded text, output bindings encode. A
  message that is not valid base64 (or not UTF-8 once decoded) never reaches the function: it is logged
  and moved as-is to `<queue>-poison`, as the extension's MessageDecodingFailed handler does.
- Poison: the message is copied to `<queue>-poison` as stored (same wire text) and then deleted; the
  poison queue is created when first needed, as is any queue an output binding writes to.
- Visibility timeouts are Azure's, so they run on wall time whatever the host clock is.

The REST API version is pinned (`API_VERSION`): the SDK's newest is often newer than the newest an Azurite
release accepts, and the queue operations used here have not changed in years.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from datetime import datetime

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueServiceClient

from .queue_encoding import ENCODINGS, decode, encode, message_encoding  # noqa: F401 - re-exported
from .queues import QueueItem

log = logging.getLogger("devhost.queues")

API_VERSION = "2021-12-02"
MAX_RECEIVE = 32  # Azure's cap on messages per Get Messages call


class AzureStorageQueues:
    """Storage queues of one account, named as the app's bindings name them."""

    kind = "azure-storage"
    remote = True

    def __init__(self, connection_string: str, *, encoding: str = "base64") -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"message encoding must be one of {', '.join(ENCODINGS)}")
        self.encoding = encoding
        self.service = QueueServiceClient.from_connection_string(
            connection_string, api_version=API_VERSION, retry_total=2, connection_timeout=5, read_timeout=30)
        self._clients: dict[str, QueueClient] = {}
        self._created: set[str] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.service.url

    def queue(self, name: str) -> QueueClient:
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = self._clients[name] = self.service.get_queue_client(name)
            return client

    def send(self, queue: str, body: str, now: datetime, delay_seconds: float = 0) -> str:
        return self._send_wire(queue, encode(body, self.encoding), delay_seconds)

    def receive(self, queue: str, now: datetime, limit: int, visibility_seconds: float) -> list[QueueItem]:
        client = self.queue(queue)
        try:
            messages = list(client.receive_messages(max_messages=max(1, min(limit, MAX_RECEIVE)),
                                                    visibility_timeout=max(1, math.ceil(visibility_seconds))))
        except ResourceNotFoundError:
            return []  # no such queue yet: nothing to deliver (the Functions host keeps polling too)
        items = []
        for message in messages:
            # The SDK's default policy leaves content as the text on the wire.
            wire = message.content if isinstance(message.content, str) else str(message.content or "")
            inserted = message.inserted_on.isoformat() if message.inserted_on else ""
            try:
                body = decode(wire, self.encoding)
            except ValueError:
                log.warning("message %s on queue %s could not be decoded (host.json messageEncoding is %s): "
                            "moved to %s-poison", message.id, queue, self.encoding, queue)
                self.move_to_poison(QueueItem(message.id, queue, "", message.dequeue_count or 1, inserted,
                                              message.pop_receipt, wire), now)
                continue
            items.append(QueueItem(message.id, queue, body, message.dequeue_count or 1, inserted,
                                   message.pop_receipt, wire))
        return items

    def delete(self, item: QueueItem) -> None:
        try:
            self.queue(item.queue).delete_message(item.id, item.receipt)
        except ResourceNotFoundError:
            # The lease ran out and someone else took the message (its receipt changed), or it is gone.
            log.warning("message %s on queue %s was not deleted: its lease had ended", item.id, item.queue)

    def release(self, item: QueueItem, now: datetime, delay_seconds: float) -> None:
        try:
            self.queue(item.queue).update_message(item.id, item.receipt,
                                                  visibility_timeout=max(0, math.ceil(delay_seconds)))
        except ResourceNotFoundError:
            log.warning("message %s on queue %s was not released: its lease had ended", item.id, item.queue)

    def move_to_poison(self, item: QueueItem, now: datetime) -> None:
        wire = item.wire if item.wire is not None else encode(item.body, self.encoding)
        self._send_wire(f"{item.queue}-poison", wire, 0)
        self.delete(item)

    def peek(self, queue: str) -> list[QueueItem]:
        try:
            messages = self.queue(queue).peek_messages(max_messages=MAX_RECEIVE)
        except ResourceNotFoundError:
            return []
        items = []
        for message in messages:
            wire = message.content if isinstance(message.content, str) else str(message.content or "")
            try:
                body = decode(wire, self.encoding)
            except ValueError:
                body = wire
            inserted = message.inserted_on.isoformat() if message.inserted_on else ""
            items.append(QueueItem(message.id, queue, body, message.dequeue_count or 0, inserted, None, wire))
        return items

    def next_visible(self, queues: list[str]) -> str | None:
        return None  # Azure does not show hidden messages; they are found by polling

    def clear(self, queue: str) -> None:
        """Delete every message of a queue, hidden ones too (tests)."""
        with contextlib.suppress(ResourceNotFoundError):
            self.queue(queue).clear_messages()

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()
        self.service.close()

    def _send_wire(self, queue: str, wire: str, delay_seconds: float) -> str:
        client = self.queue(queue)
        self._ensure(queue, client)
        try:
            sent = client.send_message(wire, visibility_timeout=math.ceil(delay_seconds) or None)
        except ResourceNotFoundError:  # deleted since: create it again
            self._created.discard(queue)
            self._ensure(queue, client)
            sent = client.send_message(wire, visibility_timeout=math.ceil(delay_seconds) or None)
        return sent.id

    def _ensure(self, queue: str, client: QueueClient) -> None:
        if queue in self._created:
            return
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
        self._created.add(queue)
