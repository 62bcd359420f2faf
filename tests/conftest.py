"""Shared test setup: the repo root is importable, and wall-time tests are opt-in."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import exit_guard  # noqa: E402 - needs the root on the path

_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


def pytest_unconfigure(config):
    """After the summary: nothing a test left running may hold the process open (tests/exit_guard.py)."""
    exit_guard.release(config.stash.get(_EXIT_STATUS, 0))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RUNBRIDGE_WALLTIME") == "1":
        return
    skip = pytest.mark.skip(reason="wall-time test; set RUNBRIDGE_WALLTIME=1 to run it")
    for item in items:
        if "walltime" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_storage_account_from_the_environment(monkeypatch):
    """Tests pick their queue source: a developer's AzureWebJobsStorage must not send them to a real account."""
    for key in [k for k in os.environ if k.upper() == "AZUREWEBJOBSSTORAGE"]:
        monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory):
    """One Azurite (queue service) for the session, on a free loopback port, data in a temp folder.

    Without Node or Azurite the tests that use it are skipped, saying why; the rest of the suite runs on
    devhost's embedded queue.
    """
    from devhost.azurite import Azurite, azurite_unavailable

    reason = azurite_unavailable(("queue",))
    if reason:
        pytest.skip(f"Azurite tests skipped: {reason}")
    server = Azurite(("queue",), location=tmp_path_factory.mktemp("azurite")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def azurite(azurite_server) -> str:
    """The AzureWebJobsStorage connection string of the session's Azurite, every queue emptied first."""
    from azure.storage.queue import QueueServiceClient

    from devhost.azure_queues import API_VERSION

    service = QueueServiceClient.from_connection_string(azurite_server.connection_string, api_version=API_VERSION)
    with service:
        for queue in service.list_queues():
            service.get_queue_client(queue.name).clear_messages()
    return azurite_server.connection_string
