"""Foundry Agent Service simulator: the classic agents (assistants) data plane of project `sim-project`.

Modules: `catalog` (project, api-versions, seeded agents, run scripts and presets), `wire` (AgentV1Error,
ids, timestamps, content blocks, body checks, list pages), `runs` (a run's clock-driven course: queued,
in_progress, requires_action, cancel, expiry), `objects` (agents, threads, messages, new-API agents),
`platform` (routes and handlers). Faithful to /work/shared/reference/foundry-agents.md.
"""

from simulators.foundry_agents.catalog import (
    API_VERSIONS,
    ECHO_AGENT,
    OUTCOME_KEY,
    PRESETS,
    PROJECT,
    SLOW_AGENT,
    TOOLS_AGENT,
)
from simulators.foundry_agents.platform import (
    EXPIRED_TOKEN,
    FORBIDDEN_TOKEN,
    READ_ONLY_TOKEN,
    FoundryAgentsPlatform,
    create,
)

# What devhost and the registry read (simulators/registry.py, simulators/embedded.py): the default port, a
# one-line summary, and the catalog connection (DESIGN.md "Simulator catalog") that reaches it.
DEFAULT_PORT = 7102
SUMMARY = "AI Foundry Agent Service (assistants)"
CONNECTION = "foundry-sim"


def connection_settings(url: str) -> dict[str, str]:
    """The settings of the catalog connection that reaches this simulator at `url`."""
    return {"type": "foundry_agents", "endpoint": f"{url}/api/projects/sim-project"}


__all__ = [
    "API_VERSIONS",
    "CONNECTION",
    "DEFAULT_PORT",
    "ECHO_AGENT",
    "EXPIRED_TOKEN",
    "FORBIDDEN_TOKEN",
    "OUTCOME_KEY",
    "PRESETS",
    "PROJECT",
    "READ_ONLY_TOKEN",
    "SLOW_AGENT",
    "SUMMARY",
    "TOOLS_AGENT",
    "FoundryAgentsPlatform",
    "connection_settings",
    "create",
]
