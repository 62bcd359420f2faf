"""devhost: an embedded Durable Functions 1.x host for Python apps, for local runs and tests."""
