"""AI Foundry Agent Service (classic agents data plane): the client for `foundry_agent` runs."""
