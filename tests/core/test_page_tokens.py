"""Discovery page tokens: signed, bound to their connection, and anything else is refused."""

from __future__ import annotations

from core.page_tokens import derive_key, read_page, sign_page

KEY = derive_key("app secret")


def test_a_token_reads_back_only_under_its_key_and_connection():
    token = sign_page(KEY, "ml-prod", "https://arm/x/jobs?$skipToken=abc")
    assert read_page(KEY, "ml-prod", token) == "https://arm/x/jobs?$skipToken=abc"
    assert read_page(KEY, "ml-test", token) is None
    assert read_page(derive_key("another app"), "ml-prod", token) is None


def test_forged_tampered_and_garbage_tokens_are_refused():
    token = sign_page(KEY, "c", "20")
    payload, _, mac = token.partition(".")
    forged = sign_page(derive_key("guess"), "c", "/subscriptions")
    for text in ("", "garbage!", payload, f"{payload}.", f"{payload}.{mac[:-1]}", f"{payload[:-1]}A.{mac}",
                 forged, "é.é", f"{mac}.{payload}"):
        assert read_page(KEY, "c", text) is None
