"""Redaction: a secret, any 8+ character slice of it, and its URL and base64 forms never reach a message."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest

from core.redaction import REDACTED, redact

KEY = "s2_k3y/with+special=chars&0123456789abcdef"


@pytest.mark.parametrize("leak", [
    KEY,
    KEY[:8],  # a prefix, as a platform that shows the first characters of a wrong key
    KEY[:12],
    KEY[-9:],
    KEY[10:22],  # any slice
    quote(KEY, safe=""),
    quote_plus(KEY),
    quote(KEY, safe="")[5:20],  # a slice of the URL-encoded copy
    base64.b64encode(KEY.encode()).decode(),
    base64.urlsafe_b64encode(KEY.encode()).decode().rstrip("="),
    base64.b64encode(f"user:{KEY}".encode()).decode(),  # inside Basic credentials: another alignment
    base64.b64encode(f"ab:{KEY}".encode()).decode()[8:30],
])
def test_every_form_of_the_secret_is_redacted(leak):
    text = f"Invalid apiKey '{leak}' for organisation 42 (requestId abc)."
    shown = redact(text, [KEY])
    assert REDACTED in shown and shown.startswith("Invalid apiKey '") and shown.endswith("(requestId abc).")
    # what may stay is only what does not come from the key: "user:" in base64, a character at an edge
    assert _longest_common(leak, shown) < 10


def _longest_common(a: str, b: str) -> int:
    return max((n for i in range(len(a)) for n in range(1, len(a) - i + 1) if a[i:i + n] in b), default=0)


def test_text_without_the_secret_is_unchanged_and_short_slices_stay():
    text = "Pipeline simtrain01 failed at step train: out of memory (s2_k3y)."
    assert redact(text, [KEY]) == text
    assert redact(text, []) == text and redact(text, [None, ""]) == text


def test_several_secrets_and_overlapping_leaks_all_go():
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature-part"
    shown = redact(f"{token} then {KEY}{KEY[:9]}", [KEY, token])
    assert token[:8] not in shown and KEY[:8] not in shown and "then" in shown


def test_a_short_secret_is_still_redacted_exactly():
    assert redact("key=abc12 rejected", ["abc12"]) == f"key={REDACTED} rejected"
