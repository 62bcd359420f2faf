"""Foundry Agent Service simulator: the classic agents (assistants) data plane of project `sim-project`.

Modules: `catalog` (project, api-versions, seeded agents, run scripts and presets), `wire` (AgentV1Error,
ids, timestamps, content blocks, body checks, list pages), `runs` (a run's clock-driven course: queued,
in_progress, requires_action, cancel, expiry), `steps` (a run's steps derived from its course: message
creation and tool calls), `objects` (agents, threads, messages, new-API agents),
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

__all__ = [
    "API_VERSIONS",
    "ECHO_AGENT",
    "EXPIRED_TOKEN",
    "FORBIDDEN_TOKEN",
    "OUTCOME_KEY",
    "PRESETS",
    "PROJECT",
    "READ_ONLY_TOKEN",
    "SLOW_AGENT",
    "TOOLS_AGENT",
    "FoundryAgentsPlatform",
    "create",
]
