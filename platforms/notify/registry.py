"""Sinks from app settings, and a client for each (built once, reused). Activities and starters call these."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from core.sinks import DEFAULT_STORAGE, UNDELIVERED_QUEUE, Sink, SinkType, find_sink, read_sinks
from platforms.http import PlatformError
from platforms.notify.reply import Reply, encode_event

log = logging.getLogger("runbridge.notify")
_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "sinks": {}}
_clients: dict[tuple, Any] = {}


class SinkClient(Protocol):
    def send(self, events: Sequence[Mapping[str, Any]]) -> Reply: ...


def sinks(environ: Mapping[str, str] | None = None) -> dict[str, Sink]:
    """The configured sinks; re-read when the settings change, problems logged once per change."""
    environ = os.environ if environ is None else environ
    relevant = tuple(sorted((k, v) for k, v in environ.items() if k.upper().startswith("NOTIFY__")))
    with _lock:
        if _cache["key"] != hash(relevant):
            found, problems = read_sinks(dict(relevant))
            for problem in problems:
                log.warning("notification setting ignored: %s", problem)
            _cache.update(key=hash(relevant), sinks=found)
        return dict(_cache["sinks"])


def get_sink(name: str) -> Sink | None:
    return find_sink(sinks(), name)


def client_for_sink(sink: Sink) -> SinkClient:
    """The client of a sink (one per sink settings, so sessions and tokens are reused)."""
    from platforms.notify.event_grid import EventGridSink
    from platforms.notify.storage_queue import QueueAccount, QueueSink
    from platforms.notify.webhook import WebhookSink

    key = (sink.name, sink.type, tuple(sorted(sink.settings.items())))
    with _lock:
        client = _clients.get(key)
        if client is None:
            if sink.type is SinkType.WEBHOOK:
                client = WebhookSink(sink)
            elif sink.type is SinkType.EVENTGRID:
                client = EventGridSink(sink)
            else:
                client = QueueSink(sink.settings["queue"], QueueAccount(sink.settings["connection"]))
            _clients[key] = client
        return client


def send(sink: Sink, events: Sequence[Mapping[str, Any]]) -> Reply:
    """Deliver `events` (in order) to `sink`; a failure is the reply, never raised."""
    try:
        return client_for_sink(sink).send(events)
    except PlatformError as exc:
        return Reply(0, exc.http_status, str(exc), exc.retry_after)
    except Exception as exc:  # a credential or setting that cannot be used: retried like any failure
        log.warning("sink %s could not be used: %s", sink.name, type(exc).__name__)
        return Reply(0, None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip(": "))


def park_undelivered(sink_name: str, events: Sequence[Mapping[str, Any]], reason: str) -> bool:
    """Put events that could not be delivered on `runbridge-events-undelivered` (AzureWebJobsStorage);
    False when that queue cannot be written either (no storage account: devhost's embedded queues)."""
    import base64
    import json

    from platforms.notify.storage_queue import QueueAccount, StorageNotConfigured

    try:
        account = QueueAccount(DEFAULT_STORAGE)
        for event in events:
            note = {"sink": sink_name, "reason": reason, "event": json.loads(encode_event(event))}
            account.put(UNDELIVERED_QUEUE, base64.b64encode(json.dumps(note).encode()).decode("ascii"))
    except (StorageNotConfigured, PlatformError) as exc:
        log.error("events %s for sink %s are undelivered and could not be queued: %s",
                  [e.get("id") for e in events], sink_name, exc)
        return False
    return True


def reset() -> None:
    """Forget cached sinks and clients (tests that change settings)."""
    with _lock:
        _cache.update(key=None, sinks={})
        _clients.clear()
