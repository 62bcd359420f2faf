"""The Functions queue extension's message encoding (5.x): base64 of the UTF-8 text unless host.json says `none`.

Shared by devhost's two faces of a storage queue: Azure Storage queues (devhost/azure_queues.py) and the
embedded queues' Queue service endpoint (devhost/queue_service.py).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

ENCODINGS = ("base64", "none")


def message_encoding(host_json: Mapping[str, Any]) -> str:
    """host.json `extensions.queues.messageEncoding`, `base64` when unset (queue extension 5.x default)."""
    queues = (host_json.get("extensions", {}) or {}).get("queues", {}) or {}
    value = str(queues.get("messageEncoding") or "base64").lower()
    if value not in ENCODINGS:
        raise ValueError(f"host.json extensions.queues.messageEncoding must be one of {', '.join(ENCODINGS)}")
    return value


def encode(text: str, encoding: str) -> str:
    """The wire text of a message body."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii") if encoding == "base64" else text


def decode(wire: str, encoding: str) -> str:
    """The body of a message from its wire text; ValueError when it cannot be decoded."""
    if encoding != "base64":
        return wire
    # .NET's Convert.FromBase64String skips white space; anything else that is not base64 is an error.
    compact = "".join(wire.split())
    try:
        return base64.b64decode(compact.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError) as exc:
        raise ValueError(f"not {encoding}-encoded UTF-8 text") from exc
