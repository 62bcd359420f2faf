"""Fixtures for devhost tests: a host on a virtual clock serving a test-only app over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from azure.durable_functions import DurableOrchestrationClient

from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor
from devkit.clock import VirtualClock

HERE = Path(__file__).resolve().parent
ROOT_DIR = HERE.parent.parent
SAMPLE_APP = HERE / "sample_app"
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
FUNCTION_KEY = "test-function-key"


class Served:
    """A started host, its HTTP front door and a real DurableOrchestrationClient bound to it."""

    def __init__(self, host: DevHost, front: HttpFrontDoor) -> None:
        self.host = host
        self.front = front
        self.clock: VirtualClock = host.clock  # type: ignore[assignment]
        self.base_url = front.base_url

    def client(self) -> DurableOrchestrationClient:
        return DurableOrchestrationClient(self.front.management.client_binding())

    def run(self, coro):
        """Run a client coroutine on the host's loop (the SDK's aiohttp session lives there)."""
        return self.host.loop.run(coro, timeout=30)

    def start(self, name: str, payload=None, instance_id: str | None = None) -> str:
        return self.run(self.client().start_new(name, instance_id, payload))

    def wait(self, instance_id: str, timeout: float = 30):
        return self.host.wait_for(instance_id, timeout)

    def history_types(self, instance_id: str) -> list[str]:
        from devhost.history import EventType

        return [EventType(e["EventType"]).name for e in self.host.store.history(instance_id)]


def serve(app_dir: Path, db_path: str, clock: VirtualClock | None = None, key: str | None = FUNCTION_KEY) -> Served:
    host = DevHost(app_dir, db_path=db_path, clock=clock or VirtualClock(EPOCH))
    front = HttpFrontDoor(host, port=0, function_key=key)
    host.start()
    front.start()
    return Served(host, front)


@pytest.fixture
def served(tmp_path) -> Iterator[Served]:
    s = serve(SAMPLE_APP, str(tmp_path / "devhost.sqlite"))
    try:
        yield s
    finally:
        close(s)


def close(s: Served) -> None:
    """Stop a served host (which also closes the SDK's shared aiohttp session on its loop)."""
    s.front.stop()
    s.host.stop()


def as_json(value):
    """Status API inputs started through the SDK client arrive as JSON text (durable-functions.md §1.7)."""
    return json.loads(value) if isinstance(value, str) else value
