"""The platform registry and the `python -m simulators` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from devkit.clock import VirtualClock
from simulators import registry
from simulators.__main__ import main, parse_options
from simulators.registry import PLATFORMS, PlatformEntry, PlatformNotAvailable, create_server, load_platform

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unwritten_platform(monkeypatch):
    """A registered platform whose module does not exist (as foundry_agents/abacus were at first)."""
    monkeypatch.setitem(PLATFORMS, "nowhere", PlatformEntry("simulators.nowhere", 7199, "not written"))
    return "nowhere"


def test_registry_lists_the_three_platforms_with_their_design_ports():
    assert {name: entry.default_port for name, entry in PLATFORMS.items()} == {
        "azure_ml": 7101,
        "foundry_agents": 7102,
        "abacus": 7103,
    }


def test_a_platform_without_its_module_is_reported_not_available_yet(unwritten_platform):
    with pytest.raises(PlatformNotAvailable, match="not available yet"):
        load_platform(unwritten_platform)
    with pytest.raises(PlatformNotAvailable, match="unknown platform"):
        load_platform("mainframe")


def test_cli_says_clearly_when_a_platform_is_not_available(unwritten_platform, capsys):
    assert main([unwritten_platform, "--port", "0"]) == 2
    assert "nowhere simulator is not available yet" in capsys.readouterr().err


def test_create_server_passes_platform_options(http):
    server = create_server("azure_ml", VirtualClock(), page_size=1)
    with server:
        assert server.platform.page_size == 1
        assert http.get(f"{server.url}/_sim/stats").json()["platform"] == "azure_ml"
    with pytest.raises(TypeError):
        create_server("azure_ml", VirtualClock(), no_such_option=True)


def test_options_parse_as_json_when_they_can():
    assert parse_options(["page_size=5", "strict=true", "cancel_mode=immediate"]) == {
        "page_size": 5,
        "strict": True,
        "cancel_mode": "immediate",
    }
    with pytest.raises(ValueError):
        parse_options(["no-equals-sign"])


def test_cli_serves_a_platform_in_its_own_process():
    command = [
        sys.executable,
        "-m",
        "simulators",
        "azure_ml",
        "--port",
        "0",
        "--clock",
        "virtual",
        "--faults",
        "0",
        "--seed",
        "3",
        "-o",
        "page_size=1",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("azure_ml simulator listening on http://127.0.0.1:"), process.stderr.read()
        url = line.split()[-1]
        session = requests.Session()
        session.trust_env = False
        assert session.get(f"{url}/_sim/stats").json()["jobs"] == 3
        moved = session.post(f"{url}/_sim/clock", json={"seconds": 60}).json()
        assert moved["virtual"] is True
        assert moved["now"].startswith("2026-01-01T00:01:00")
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_registry_module_keeps_the_factory_contract():
    factory = registry.load_platform("azure_ml")
    platform = factory(VirtualClock())
    assert platform.name == "azure_ml"
    assert {"remoteJobsCreated", "runningNow"} <= set(platform.stats())
