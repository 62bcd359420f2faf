"""Discovery page tokens a caller cannot forge: the platform's own cursor, bound to one connection, signed.

A page token carries the platform's next-page cursor (an Azure ML nextLink, a Foundry `after` id, an
Abacus offset) back to the app. Unsigned, it would let a caller name any URL on the platform's host and
have the app send its credentials there (a confused deputy). So a token is
`base64url(JSON {"c": connection, "p": cursor}) "." base64url(HMAC-SHA256(key, that JSON)[:16])`, and a
token is read back only when its signature matches under the app's key and it names the same connection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

SIGNATURE_BYTES = 16


def sign_page(key: bytes, connection: str, cursor: str) -> str:
    """The token that hands `cursor` of `connection` to a caller and back."""
    payload = json.dumps({"c": connection, "p": cursor}, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def read_page(key: bytes, connection: str, token: str) -> str | None:
    """The cursor in `token`, or None unless this app signed it for `connection` (any other text)."""
    encoded, dot, signature = token.partition(".")
    if not dot:
        return None
    try:
        payload, mac = _unb64(encoded), _unb64(signature)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(mac, _mac(key, payload)):
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("c") != connection or not isinstance(data.get("p"), str):
        return None
    return data["p"]


def derive_key(secret: str) -> bytes:
    """A page-token key from an app secret (a setting), never the secret itself."""
    return hashlib.sha256(b"runbridge discovery page tokens\0" + secret.encode()).digest()


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
