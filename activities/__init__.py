"""Thin activities: resolve a connection, call one platform client verb, return plain data."""
