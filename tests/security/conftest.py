"""Fixtures for the security tests: this repo's app served by devhost with a function key configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor
from devkit.clock import VirtualClock
from platforms import registry
from tests.e2e.conftest import stack  # noqa: F401 - the full stack (simulators + devhost), for leak scans

ROOT = Path(__file__).resolve().parent.parent.parent
FUNCTION_KEY = "security-test-function-key"


@dataclass
class Keyed:
    host: DevHost
    front: HttpFrontDoor

    @property
    def base_url(self) -> str:
        return self.front.base_url


@pytest.fixture
def keyed(tmp_path, monkeypatch) -> Iterator[Keyed]:
    """function_app.py under devhost, which (like the Functions host) then demands the key."""
    for key in [k for k in os.environ if k.upper().startswith("CONNECTIONS__")]:
        monkeypatch.delenv(key)
    registry.reset()
    clock = VirtualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    host = DevHost(ROOT, db_path=str(tmp_path / "devhost.sqlite"), clock=clock)
    front = HttpFrontDoor(host, port=0, function_key=FUNCTION_KEY)
    host.start()
    front.start()
    try:
        yield Keyed(host, front)
    finally:
        front.stop()
        host.stop()
        registry.reset()
