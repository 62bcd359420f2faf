"""Connections from app settings, and the platform client for each (built once, reused).

Activities and starters call these; orchestrators never do (they read no settings).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Mapping

from core.connections import Connection, ConnectionType, find_connection, read_connections
from platforms.base import PlatformClient

log = logging.getLogger("runbridge.connections")

_lock = threading.Lock()
_cache: dict[str, object] = {"key": None, "connections": {}}
_clients: dict[tuple, PlatformClient] = {}


def connections(environ: Mapping[str, str] | None = None) -> dict[str, Connection]:
    """The configured connections; re-read when the settings change, problems logged once per change."""
    environ = os.environ if environ is None else environ
    relevant = tuple(sorted((k, v) for k, v in environ.items() if k.upper().startswith("CONNECTIONS__")))
    key = hash(relevant)
    with _lock:
        if _cache["key"] != key:
            found, problems = read_connections(dict(relevant))
            for problem in problems:
                log.warning("connection setting ignored: %s", problem)
            _cache.update(key=key, connections=found)
        return dict(_cache["connections"])  # type: ignore[arg-type]


def get_connection(name: str) -> Connection | None:
    return find_connection(connections(), name)


def client_module(connection_type: ConnectionType) -> str:
    """The platform folder of a connection type (same name) has client.py with `create_client(connection)`."""
    return f"platforms.{connection_type.value}.client"


def client_for(connection: Connection) -> PlatformClient:
    """The client for a connection (one per connection, so sessions and tokens are reused)."""
    key = (connection.name, connection.type, tuple(sorted(connection.settings.items())))
    with _lock:
        client = _clients.get(key)
        if client is None:
            module = importlib.import_module(client_module(connection.type))
            client = module.create_client(connection)
            _clients[key] = client
        return client


def reset() -> None:
    """Forget cached connections and clients (tests that change settings)."""
    with _lock:
        _cache.update(key=None, connections={})
        _clients.clear()
