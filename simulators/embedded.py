"""`devhost serve --simulate`: start every available simulator on the host's clock and configure the
catalog's connections (`azureml-sim`, `foundry-sim`, `abacus-sim`) to reach them (DESIGN.md
"Simulator catalog"). Tokens for them come from the local credential (platforms/auth.py), never a request.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

from devkit.clock import Clock
from simulators.registry import PLATFORMS, PlatformNotAvailable, create_server
from simulators.server import SimServer

log = logging.getLogger("simulators.embedded")
LOCAL_CREDENTIAL_SETTING = "RUNBRIDGE_LOCAL_CREDENTIAL"


def _catalog() -> dict[str, tuple[str, Callable[[str], dict[str, str]]]]:
    """platform -> (connection name, settings for its simulator at url), from each simulator package."""
    catalog = {}
    for platform, entry in PLATFORMS.items():
        module = importlib.import_module(entry.module)
        catalog[platform] = (module.CONNECTION, module.connection_settings)
    return catalog


CATALOG = _catalog()


@dataclass
class Simulation:
    """The running simulators and the settings that point connections at them."""

    servers: dict[str, SimServer] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def subscribe_events(self, webhook: str) -> None:
        """Point every simulator that publishes status events (Azure ML's Event Grid system topic) at `webhook`
        (devhost's Event Grid route)."""
        for server in self.servers.values():
            if server.platform.events_source:
                server.platform.subscribe(webhook)


def start_simulation(clock: Clock, environ: MutableMapping[str, str], ports: dict[str, int] | None = None,
                     only: tuple[str, ...] | None = None, events: bool = False, **options: dict) -> Simulation:
    """Start each simulator whose module exists (default ports 7101-7103; 0 picks a free one), or those in
    `only`, and write `CONNECTIONS__<name>__*` settings for it into `environ`. With `events`, the connection of a
    simulator that publishes status events says they are wired (`azureml-sim`: `events=eventgrid`); see
    `Simulation.subscribe_events`."""
    simulation = Simulation()
    for platform, (connection, settings_for) in CATALOG.items():
        if only is not None and platform not in only:
            continue
        port = (ports or {}).get(platform, PLATFORMS[platform].default_port)
        try:
            server = create_server(platform, clock, port=port, **options.get(platform, {}))
        except PlatformNotAvailable as exc:
            log.warning("%s", exc)
            continue
        url = server.start()
        simulation.servers[platform] = server
        settings = settings_for(url)
        if events and server.platform.events_source:
            settings["events"] = server.platform.events_source
        for key, value in settings.items():
            simulation.settings[f"CONNECTIONS__{connection}__{key}"] = value
    simulation.settings[LOCAL_CREDENTIAL_SETTING] = "1"
    environ.update(simulation.settings)
    return simulation
