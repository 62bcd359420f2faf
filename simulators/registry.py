"""The platform registry: which simulators exist, where their code lives, which port they default to.

Adding a platform is one entry in `PLATFORMS` plus a module that defines
`create(clock, **options) -> Platform`. A registered platform whose module is not written yet is
reported as "not available yet" instead of crashing with an import error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devkit.clock import Clock
from simulators.faults import FaultInjector
from simulators.server import Platform, SimServer


@dataclass(frozen=True)
class PlatformEntry:
    """One simulator: the module defining `create(clock, **options)` and its default port (DESIGN.md)."""

    module: str
    default_port: int
    summary: str


PLATFORMS: dict[str, PlatformEntry] = {
    "azure_ml": PlatformEntry(
        "simulators.azure_ml", 7101, "Azure ML workspace Jobs API (ARM) and RunHistory"
    ),
    "foundry_agents": PlatformEntry(
        "simulators.foundry_agents", 7102, "AI Foundry Agent Service (assistants)"
    ),
    "abacus": PlatformEntry("simulators.abacus", 7103, "Abacus.AI REST API v0 pipelines"),
}


class PlatformNotAvailable(LookupError):
    """The platform is unknown, or registered but its simulator module is not written yet."""


def load_platform(name: str) -> Callable[..., Platform]:
    """The `create(clock, **options)` factory of a registered platform."""
    entry = PLATFORMS.get(name)
    if entry is None:
        raise PlatformNotAvailable(f"unknown platform {name!r}: use one of {', '.join(PLATFORMS)}")
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        if exc.name != entry.module:  # the module exists but one of its imports is missing: a real bug
            raise
        raise PlatformNotAvailable(
            f"the {name} simulator is not available yet (module {entry.module} is not written)"
        ) from None
    return module.create


def create_server(
    name: str,
    clock: Clock,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    faults: FaultInjector | None = None,
    tls: bool = False,
    **options: Any,
) -> SimServer:
    """A ready-to-start server for platform `name`; `options` go to the platform's `create`.

    `tls=True` serves https with a self-signed certificate (`SimServer.ca_file`), as the Azure SDKs need.
    """
    platform = load_platform(name)(clock, **options)
    return SimServer(platform, faults=faults, host=host, port=port, tls=tls)
