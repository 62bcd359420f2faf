"""The reliability tests that need no subprocess use the end-to-end stack (one process, one virtual clock)."""

from tests.e2e.conftest import stack  # noqa: F401  (the fixture, shared)
