"""Secrets out of every message a caller can see: the secret, any slice of it, and its encodings.

A platform may echo a wrong key back, show its first characters, or quote the request it refused
(URL-encoded, or base64 inside Basic credentials). `redact` replaces every run of 8 or more characters
of the text that is a piece of the secret, or of its URL or base64 forms, with REDACTED. The one place
that does it: the shared HTTP layer runs every platform error through it with the credentials it sent
(platforms/http.py), and clients run the texts they build from platform answers through it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "***"
MIN_SLICE = 8  # a shorter piece of a secret says too little to be worth hiding (and words would match)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every piece (MIN_SLICE+ characters) of each secret and of its encodings replaced."""
    spans: list[tuple[int, int]] = []
    for secret in secrets:
        if not secret:
            continue
        if len(secret) < MIN_SLICE:
            spans += _exact(text, secret)
            continue
        for form in _forms(secret):
            spans += _pieces(text, form)
    if not spans:
        return text
    out, at = [], 0
    for start, end in _merged(spans):
        out += [text[at:start], REDACTED]
        at = end
    return "".join(out) + text[at:]


def _forms(secret: str) -> set[str]:
    """The secret as it may appear: itself, URL-encoded, base64 (standard and URL-safe) at each alignment."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    raw = secret.encode("utf-8", "surrogatepass")
    for offset in range(3):  # inside a longer base64 text the secret starts at any byte of a 3-byte group
        encoded = base64.b64encode(b"\0" * offset + raw).decode().rstrip("=")
        # drop the characters that also carry the neighbours' bits: (8 * offset) / 6 at the start, one at the end
        core = encoded[-(-8 * offset // 6):-1]
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    forms.add(base64.b64encode(raw).decode())
    return {form for form in forms if len(form) >= MIN_SLICE}


def _pieces(text: str, form: str) -> list[tuple[int, int]]:
    """Spans of `text` that are pieces (MIN_SLICE+ characters) of `form`, each as long as it goes."""
    grams = {form[i:i + MIN_SLICE] for i in range(len(form) - MIN_SLICE + 1)}
    spans, i = [], 0
    while i <= len(text) - MIN_SLICE:
        if text[i:i + MIN_SLICE] not in grams:
            i += 1
            continue
        end = i + MIN_SLICE
        while end < len(text) and text[i:end + 1] in form:
            end += 1
        spans.append((i, end))
        i += 1  # a later start may reach further (overlaps are merged)
    return spans


def _exact(text: str, secret: str) -> list[tuple[int, int]]:
    spans, at = [], text.find(secret)
    while at >= 0:
        spans.append((at, at + len(secret)))
        at = text.find(secret, at + 1)
    return spans


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
