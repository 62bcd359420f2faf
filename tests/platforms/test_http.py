"""The shared HTTP layer: retry decisions as pure sequences, Retry-After parsing, and the wire behaviour."""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
import requests

from platforms.http import (
    IN_ACTIVITY,
    Attempts,
    ErrorKind,
    HttpClient,
    PlatformError,
    RetryPolicy,
    backoff_seconds,
    none_if_missing,
    parse_retry_after,
    read_json,
    retry_delay,
)


def test_backoff_doubles_to_the_cap_with_bounded_seeded_jitter():
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=4, jitter=0.25)
    delays = [backoff_seconds(policy, n, seed="x") for n in range(1, 7)]
    for n, delay in enumerate(delays, start=1):
        base = min(4, 0.5 * 2 ** (n - 1))
        assert base <= delay <= min(4, base * 1.25)
    assert delays == [backoff_seconds(policy, n, seed="x") for n in range(1, 7)]  # deterministic


def test_reads_and_statuses_are_retried_only_for_idempotent_methods():
    policy = RetryPolicy()
    assert retry_delay(policy, Attempts(), "connect", "POST", None, None) is not None  # never reached the server
    assert retry_delay(policy, Attempts(), "read", "POST", None, None) is None  # may have acted
    assert retry_delay(policy, Attempts(), "read", "GET", None, None) is not None
    assert retry_delay(policy, Attempts(), "status", "POST", 503, None) is None
    assert retry_delay(policy, Attempts(), "status", "PUT", 503, None) is not None
    assert retry_delay(policy, Attempts(), "status", "GET", 400, None) is None


def test_retry_after_wins_over_backoff_and_a_long_one_is_handed_up():
    policy = RetryPolicy(retry_after_cap=30)
    assert retry_delay(policy, Attempts(), "status", "GET", 429, 7.0) == 7.0
    assert retry_delay(policy, Attempts(), "status", "GET", 429, 120.0) is None
    assert retry_delay(policy, Attempts(), "status", "GET", 500, 7.0) != 7.0  # 500 carries no Retry-After meaning


def test_budgets_are_per_kind():
    policy = RetryPolicy(connect=1, read=1, status=1)
    spent = Attempts(connect=1)
    assert retry_delay(policy, spent, "connect", "GET", None, None) is None
    assert retry_delay(policy, spent, "read", "GET", None, None) is not None


def test_parse_retry_after_takes_seconds_or_a_date_and_floors_at_zero():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now) == 0.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


class _Script(BaseHTTPRequestHandler):
    """Answers with the next scripted (status, headers, body); counts what it got."""

    script: list = []
    seen: list = []

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append((self.command, self.headers.get("Authorization")))
        status, headers, body = type(self).script.pop(0) if type(self).script else (200, {}, b"{}")
        if status == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if status in ("cut", "reset"):  # a 200 whose body stops after these bytes, the connection closed
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 100))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            if status == "reset":  # RST instead of FIN: SO_LINGER with a zero timeout
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _serve

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    _Script.script, _Script.seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Script)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def client(url: str, policy: RetryPolicy, sleeps: list) -> HttpClient:
    return HttpClient(url, auth=lambda: {"Authorization": "Bearer t0k"}, retry=policy, sleep=sleeps.append,
                      timeout=(2, 2))


def test_a_throttled_get_waits_the_hint_then_succeeds(server):
    _Script.script = [(429, {"Retry-After": "3"}, b'{"error": {"code": "TooManyRequests", "message": "slow"}}'),
                      (200, {}, b'{"ok": true}')]
    sleeps: list = []
    response = client(server, RetryPolicy(), sleeps).request("GET", "/x", operation="Get")
    assert response.json() == {"ok": True} and sleeps == [3.0]
    assert [s[1] for s in _Script.seen] == ["Bearer t0k", "Bearer t0k"]


def test_errors_carry_the_platform_code_kind_and_retry_after(server):
    _Script.script = [(503, {"Retry-After": "9"}, b'{"error": {"code": "ServiceError", "message": "down"}}')]
    with pytest.raises(PlatformError) as caught:
        client(server, IN_ACTIVITY, []).request("GET", "/x", operation="Get")
    error = caught.value
    expected = (ErrorKind.THROTTLED, "ServiceError", 503, 9.0)
    assert (error.kind, error.code, error.http_status, error.retry_after) == expected
    assert error.transient and "t0k" not in str(error)
    _Script.script = [(404, {}, b'{"error": {"code": "UserError", "message": "Job x not found."}}')]
    with pytest.raises(PlatformError) as caught:
        client(server, IN_ACTIVITY, []).request("GET", "/x", operation="Get")
    assert caught.value.kind == ErrorKind.NOT_FOUND and not caught.value.transient


def test_a_post_whose_connection_dropped_is_not_sent_again(server):
    _Script.script = [("drop", {}, b""), (200, {}, b"{}")]
    with pytest.raises(PlatformError) as caught:
        client(server, RetryPolicy(), []).request("POST", "/runs", operation="Create", json={})
    assert caught.value.transient
    assert len(_Script.seen) == 1


def test_a_get_whose_connection_dropped_is_retried(server):
    _Script.script = [("drop", {}, b""), (200, {}, b'{"v": 1}')]
    sleeps: list = []
    assert client(server, RetryPolicy(), sleeps).request("GET", "/x", operation="Get").json() == {"v": 1}
    assert len(_Script.seen) == 2 and len(sleeps) == 1


def test_connection_refused_is_retried_then_transient():
    sleeps: list = []
    http = HttpClient("http://127.0.0.1:9", retry=RetryPolicy(connect=2), sleep=sleeps.append, timeout=(1, 1))
    with pytest.raises(PlatformError) as caught:
        http.request("POST", "/x", operation="Create")
    assert caught.value.code == "ConnectionError" and caught.value.transient
    assert len(sleeps) == 2


def test_non_json_error_bodies_still_give_a_clean_error(server):
    _Script.script = [(502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>")]
    with pytest.raises(PlatformError) as caught:
        client(server, IN_ACTIVITY, []).request("GET", "/x", operation="Get")
    assert caught.value.http_status == 502 and caught.value.kind == ErrorKind.TRANSIENT
    assert "<html>" not in caught.value.message


def test_session_is_reused_between_calls(server):
    http = client(server, IN_ACTIVITY, [])
    http.request("GET", "/a", operation="A")
    http.request("GET", "/b", operation="B")
    assert isinstance(http.session, requests.Session)


def test_none_if_missing_turns_only_not_found_into_none():
    assert none_if_missing(lambda: {"id": "x"}) == {"id": "x"}

    def fails(kind: ErrorKind):
        def call():
            raise PlatformError(kind, "no")
        return call

    assert none_if_missing(fails(ErrorKind.NOT_FOUND)) is None
    for kind in (ErrorKind.TRANSIENT, ErrorKind.AUTH, ErrorKind.PERMANENT):
        with pytest.raises(PlatformError):
            none_if_missing(fails(kind))


@pytest.mark.parametrize("kind", ["cut", "reset"])
@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_a_body_cut_short_or_reset_is_a_transient_error_never_an_exception_of_requests(server, kind, method):
    _Script.script = [(kind, {}, b'{"name": "job-1", "properties": {"sta')]
    with pytest.raises(PlatformError) as caught:
        client(server, IN_ACTIVITY, []).request(method, "/x", operation="Op", json={} if method != "GET" else None)
    assert caught.value.transient and caught.value.code == "BrokenAnswer"
    assert len(_Script.seen) == 1  # may have acted: not sent again in the activity


def test_a_broken_body_on_a_get_is_retried_when_the_policy_allows_reads(server):
    _Script.script = [("cut", {}, b'{"v": '), (200, {}, b'{"v": 1}')]
    sleeps: list = []
    assert client(server, RetryPolicy(), sleeps).request("GET", "/x", operation="Get").json() == {"v": 1}
    assert len(sleeps) == 1


@pytest.mark.parametrize("headers,body", [
    ({"Content-Type": "text/html"}, b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>"),
    ({"Content-Type": "application/json"}, b'{"name": "job-1", "properties": {"sta'),  # cut, length matching
    ({"Content-Type": "text/plain"}, b"OK"),
    ({}, b""),
    ({"Content-Type": "application/json"}, b'"OK"'),  # JSON, but not the object every platform answers with
    ({"Content-Type": "application/json"}, b"[]"),
])
def test_an_answer_that_is_not_json_where_json_was_expected_is_transient(server, headers, body):
    _Script.script = [(200, headers, body)]
    http = client(server, IN_ACTIVITY, [])
    with pytest.raises(PlatformError) as caught:
        read_json(http.request("GET", "/x", operation="Jobs_Get"), "Jobs_Get")
    error = caught.value
    assert error.transient and error.code == "InvalidResponse" and error.http_status == 200
    assert "<html" not in error.message.lower() and error.operation == "Jobs_Get"


def test_request_json_reads_the_body_once_classified(server):
    _Script.script = [(200, {"Content-Type": "application/json"}, b'{"v": [1]}')]
    assert client(server, IN_ACTIVITY, []).request_json("GET", "/x", operation="Get") == {"v": [1]}


@pytest.mark.parametrize("value,expected", [
    ("99999999999", 3600.0), ("1e13", 3600.0), ("1e400", None), ("nan", None), ("inf", None), ("-inf", None),
    ("Fri, 31 Dec 9999 23:59:59 GMT", 3600.0), ("Mon, 01 Jan 0001 00:00:00 GMT", 0.0), ("", None),
    ("12, 13", None), ("0x10", None), ("Thu, 99 Foo 2026 99:99:99 GMT", None), ("\x00\xff", None),
    ("7200", 3600.0), ("30.5", 30.5),
])
def test_retry_after_is_parsed_defensively_and_never_more_than_an_hour(value, expected):
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after(value, now) == expected


def test_an_absurd_retry_after_on_an_error_is_capped_on_the_error(server):
    _Script.script = [(429, {"Retry-After": "1e13"}, b'{"error": {"code": "TooMany", "message": "slow"}}')]
    with pytest.raises(PlatformError) as caught:
        client(server, IN_ACTIVITY, []).request("PUT", "/x", operation="Put", json={})
    assert caught.value.retry_after == 3600.0 and caught.value.kind == ErrorKind.THROTTLED


def test_an_error_echoing_the_credential_in_any_form_is_redacted(server):
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.claims-part.signature/part+x"
    echoed = f"token {token[:12]}... and {quote(token, safe='')} and {base64.b64encode(token.encode()).decode()}"
    _Script.script = [(401, {}, json.dumps({"error": {"code": f"Bad{token[:9]}", "message": echoed}}).encode())]
    http = HttpClient(server, auth=lambda: {"Authorization": f"Bearer {token}"}, retry=IN_ACTIVITY)
    with pytest.raises(PlatformError) as caught:
        http.request("GET", "/x", operation="Get")
    shown = str(caught.value) + repr(caught.value.to_dict())
    assert token[:8] not in shown and quote(token, safe="")[20:28] not in shown and "***" in shown
    assert base64.b64encode(token.encode()).decode()[:12] not in shown
