"""One orchestrator per job type, each a thin wrapper over the shared poll loop (poll_loop.py)."""
