"""Run events: one structured log record per thing that happens to a run (docs/operations.md, "Read the logs").

The message is `run_event <compact JSON>`, so a log query reads the fields without an SDK; the same fields
ride in the record's `extra` (`runbridge`) for handlers that keep them. Callers never put a secret in them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any


def log_run_event(logger: logging.Logger, fields: Mapping[str, Any]) -> None:
    """Write one run event with these fields (`event` and `runId` first, by convention)."""
    logger.info("run_event %s", json.dumps(fields, separators=(",", ":")), extra={"runbridge": dict(fields)})
