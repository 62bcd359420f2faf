"""Durable payloads as data: inputs, outputs and results often arrive as JSON text, sometimes twice over."""

from __future__ import annotations

import json
from typing import Any


def decode_json_text(value: Any) -> Any:
    """The data behind a payload: JSON text is parsed (repeatedly: an input sent through the SDK client is
    JSON text inside JSON, durable-functions.md §1.7); anything else, or text that is not JSON, is kept."""
    for _ in range(3):
        if not isinstance(value, str):
            return value
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return value
