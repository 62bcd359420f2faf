"""Abacus.AI pipelines through the REST API v0 (reference/abacus-pipelines.md)."""
