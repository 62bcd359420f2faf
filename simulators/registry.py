"""The platform registry: which simulators exist, where their code lives, which port they default to.

A simulator is the package `simulators/<connection type>/` (core.connections.ConnectionType: the same name as
the platform folder) defining `create(clock, **options) -> Platform`, `DEFAULT_PORT` and `SUMMARY`: adding the
folder adds the simulator (docs/adding-a-platform.md). A platform whose simulator is not written yet is
reported as "not available yet" instead of crashing with an import error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.connections import ConnectionType
from devkit.clock import Clock
from simulators.faults import FaultInjector
from simulators.server import Platform, SimServer


@dataclass(frozen=True)
class PlatformEntry:
    """One simulator: the module defining `create(clock, **options)` and its default port (DESIGN.md)."""

    module: str
    default_port: int
    summary: str


def _entries() -> dict[str, PlatformEntry]:
    entries = {}
    for connection_type in ConnectionType:
        module_name = f"simulators.{connection_type.value}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the module exists but one of its imports is missing: a real bug
                raise
            continue
        entries[connection_type.value] = PlatformEntry(module_name, module.DEFAULT_PORT, module.SUMMARY)
    return entries


PLATFORMS: dict[str, PlatformEntry] = _entries()


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
