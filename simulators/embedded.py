"""`devhost serve --simulate`: start every available simulator on the host's clock and configure the
catalog's connections (`azureml-sim`, `foundry-sim`, `abacus-sim`) to reach them (DESIGN.md
"Simulator catalog"). Tokens for them come from the local credential (platforms/auth.py), never a request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

from devkit.clock import Clock
from simulators.registry import PLATFORMS, PlatformNotAvailable, create_server
from simulators.server import SimServer

log = logging.getLogger("simulators.embedded")
LOCAL_CREDENTIAL_SETTING = "RUNBRIDGE_LOCAL_CREDENTIAL"
ABACUS_SIM_KEY = "sim-abacus-key"


def _azure_ml(url: str) -> dict[str, str]:
    from simulators.azure_ml.catalog import REGION, RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE

    return {"type": "azure_ml", "subscriptionId": SUBSCRIPTION, "resourceGroup": RESOURCE_GROUP,
            "workspace": WORKSPACE, "region": REGION, "armEndpoint": url, "historyEndpoint": url}


def _foundry_agents(url: str) -> dict[str, str]:
    return {"type": "foundry_agents", "endpoint": f"{url}/api/projects/sim-project"}


def _abacus(url: str) -> dict[str, str]:
    return {"type": "abacus", "endpoint": url, "apiKey": ABACUS_SIM_KEY}


# platform -> (connection name, settings for a simulator at url)
CATALOG: dict[str, tuple[str, Callable[[str], dict[str, str]]]] = {
    "azure_ml": ("azureml-sim", _azure_ml),
    "foundry_agents": ("foundry-sim", _foundry_agents),
    "abacus": ("abacus-sim", _abacus),
}


@dataclass
class Simulation:
    """The running simulators and the settings that point connections at them."""

    servers: dict[str, SimServer] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def subscribe_events(self, webhook: str) -> None:
        """Point the Azure ML simulator's Event Grid system topic at `webhook` (devhost's Event Grid route)."""
        server = self.servers.get("azure_ml")
        if server is not None:
            server.platform.subscribe(webhook)


def start_simulation(clock: Clock, environ: MutableMapping[str, str], ports: dict[str, int] | None = None,
                     only: tuple[str, ...] | None = None, events: bool = False, **options: dict) -> Simulation:
    """Start each simulator whose module exists (default ports 7101-7103; 0 picks a free one), or those in
    `only`, and write `CONNECTIONS__<name>__*` settings for it into `environ`. With `events`, `azureml-sim`
    says its run status events are wired (`events=eventgrid`): see `Simulation.subscribe_events`."""
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
        if events and platform == "azure_ml":
            settings["events"] = "eventgrid"
        for key, value in settings.items():
            simulation.settings[f"CONNECTIONS__{connection}__{key}"] = value
    simulation.settings[LOCAL_CREDENTIAL_SETTING] = "1"
    environ.update(simulation.settings)
    return simulation
