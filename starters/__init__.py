"""HTTP and queue starters: validate through core, start or query orchestrations, answer JSON."""
