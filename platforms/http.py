"""The HTTP layer every platform client shares: timeouts, retries as a policy, Retry-After, one error type.

Retries follow urllib3's split by failure kind: a connect error never reached the server, so any
method may be retried; a read timeout or dropped connection may have reached it, so only idempotent
methods are; a retryable status (429, 5xx) is retried for idempotent methods, honouring Retry-After.
A non-idempotent call (a POST that creates something) is never retried blindly: the client that makes
it reconciles first. Waits inside an activity are short; a longer Retry-After is handed up to the
orchestrator, which waits on a durable timer instead.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from core.redaction import redact

log = logging.getLogger("runbridge.http")


class ErrorKind(str, Enum):
    """How a caller should treat a failed call."""

    TRANSIENT = "Transient"  # network trouble or a 5xx: try again later
    THROTTLED = "Throttled"  # 429 / 503 with Retry-After: try again after the hint
    NOT_FOUND = "NotFound"  # the thing named does not exist
    AUTH = "Auth"  # 401/403: credentials or permissions; not fixed by retrying
    PERMANENT = "Permanent"  # the platform refused the request for good (400, 409, ...)
    BUSY = "Busy"  # other work on the platform must end first; nothing was made; the caller chose to wait


class PlatformError(Exception):
    """A platform call failed; carries what callers branch on and never a secret."""

    def __init__(self, kind: ErrorKind, message: str, *, code: str | None = None, http_status: int | None = None,
                 retry_after: float | None = None, operation: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code or kind.value
        self.http_status = http_status
        self.retry_after = retry_after
        self.operation = operation

    @property
    def transient(self) -> bool:
        return self.kind in (ErrorKind.TRANSIENT, ErrorKind.THROTTLED)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (it travels through activity results into history)."""
        return {"kind": self.kind.value, "code": self.code, "message": self.message, "httpStatus": self.http_status,
                "retryAfter": self.retry_after, "transient": self.transient}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlatformError:
        return cls(ErrorKind(data["kind"]), data["message"], code=data.get("code"), http_status=data.get("httpStatus"),
                   retry_after=data.get("retryAfter"))

    def __str__(self) -> str:
        where = f" ({self.operation})" if self.operation else ""
        status = f" HTTP {self.http_status}" if self.http_status else ""
        return f"{self.code}{status}{where}: {self.message}"


T = TypeVar("T")


def none_if_missing(call: Callable[[], T]) -> T | None:
    """The call's answer, or None when the platform says the thing asked for does not exist (NOT_FOUND):
    a missing template, agent or remote run is an answer for the caller, not an error."""
    try:
        return call()
    except PlatformError as exc:
        if exc.kind == ErrorKind.NOT_FOUND:
            return None
        raise


@dataclass(frozen=True)
class RetryPolicy:
    """Per-kind retry budgets and backoff for one call; immutable, shared by all calls of a client."""

    connect: int = 3  # connection refused / DNS / connect timeout: the server never saw it
    read: int = 2  # read timeout or dropped connection: the server may have acted
    status: int = 4  # retryable HTTP statuses
    backoff_base: float = 0.5  # seconds; doubles per consecutive failure
    backoff_cap: float = 10.0
    jitter: float = 0.25  # fraction of the backoff added at random (deterministic per call, see below)
    retry_after_cap: float = 30.0  # a longer Retry-After is not waited here: the error goes up with the hint
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    retry_after_statuses: frozenset[int] = frozenset({413, 429, 503})
    idempotent_methods: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


NO_RETRY = RetryPolicy(connect=0, read=0, status=0)
# What activities use: only a connection that never reached the server is retried on the spot, briefly.
# Everything else goes up as a transient PlatformError (with its Retry-After), and the orchestrator waits
# on a durable timer: no activity sleeps through a throttle, and virtual time stays virtual in tests.
IN_ACTIVITY = RetryPolicy(connect=2, read=0, status=0, backoff_base=0.1, backoff_cap=0.5)


@dataclass
class Attempts:
    """Failures so far in one call, by kind (the mutable side of a RetryPolicy)."""

    connect: int = 0
    read: int = 0
    status: int = 0
    history: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.connect + self.read + self.status


def backoff_seconds(policy: RetryPolicy, failures: int, seed: str = "") -> float:
    """Exponential backoff after `failures` consecutive failures, capped, with seeded jitter."""
    base = min(policy.backoff_cap, policy.backoff_base * (2 ** max(0, failures - 1)))
    fraction = int(hashlib.sha256(f"{seed}:{failures}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return min(policy.backoff_cap, base * (1 + policy.jitter * fraction))


MAX_RETRY_AFTER = 3600.0  # seconds: no platform hint is believed beyond an hour (callers cap it further)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), floored at zero and capped at
    MAX_RETRY_AFTER; None when absent or garbage (NaN, infinity, a list, a date that is no date).

    Gateways send absurd values (`99999999999`, `1e13`, a date in year 9999): each becomes the cap, so no
    caller ever builds a time out of range from a hint.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now)
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _seconds_until(value: str, now: datetime | None) -> float | None:
    """Seconds from `now` to an HTTP date; None when it is not one."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - (now or datetime.now(timezone.utc))).total_seconds()


def read_json(response: requests.Response, operation: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer; a transient PlatformError when it is none.

    A gateway's HTML page with 200, a body cut at a length that matches its Content-Length, an empty or
    plain-text answer: the platform did not say what it did, so the caller looks again later (it is
    never read as an empty answer, nor raised as a parser's exception).
    """
    try:
        body = response.json()
    except ValueError:
        kind = _not_json(response)
    else:
        if isinstance(body, dict):
            return body
        kind = f"JSON that is not an object ({type(body).__name__})"
    raise PlatformError(ErrorKind.TRANSIENT, f"The platform answered HTTP {response.status_code} with {kind} "
                        "where a JSON object was expected (a gateway or a cut answer).", code="InvalidResponse",
                        http_status=response.status_code, operation=operation)


def _not_json(response: requests.Response) -> str:
    """What a body that does not parse as JSON is, in words (never its text: it may be a whole page)."""
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not response.content:
        return "an empty body"
    if "html" in content_type or response.content.lstrip()[:1] == b"<":
        return "an HTML page"
    return f"a body that is not JSON ({content_type or 'no content type'})"


def retry_delay(policy: RetryPolicy, attempts: Attempts, kind: str, method: str, status: int | None,
                retry_after: float | None, seed: str = "") -> float | None:
    """How long to wait before trying again, or None to give up. Pure; only the caller sleeps.

    `kind` is "connect", "read" or "status". Reads and statuses are retried only for idempotent
    methods; Retry-After wins over backoff for the statuses that carry it, and a hint beyond the cap
    gives up so the orchestrator can wait on a durable timer instead of blocking an activity.
    """
    idempotent = method.upper() in policy.idempotent_methods
    if kind == "connect":
        used, budget = attempts.connect, policy.connect
    elif kind == "read":
        if not idempotent:
            return None
        used, budget = attempts.read, policy.read
    else:
        if not idempotent or status not in policy.retry_statuses:
            return None
        used, budget = attempts.status, policy.status
    if used >= budget:
        return None
    if retry_after is not None and status in policy.retry_after_statuses:
        return retry_after if retry_after <= policy.retry_after_cap else None
    return backoff_seconds(policy, attempts.total + 1, seed)


ErrorParser = Callable[[requests.Response], tuple[str | None, str]]
ErrorClassifier = Callable[[int, str | None], ErrorKind]  # (HTTP status, parsed error code) -> kind


def default_error_parser(response: requests.Response) -> tuple[str | None, str]:
    """(code, message) from the common `{"error": {"code", "message"}}` body, else the status text."""
    try:
        body = response.json()
    except ValueError:
        return None, (response.reason or f"HTTP {response.status_code}")
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("code"), str(error.get("message") or response.reason)
    if isinstance(error, str):
        return body.get("errorType") or body.get("code"), error
    return None, response.reason or f"HTTP {response.status_code}"


def error_kind(status: int, code: str | None = None) -> ErrorKind:
    """How to treat an HTTP error status (the default classifier; `code` is what the error parser found).

    A platform whose error bodies say more than the status (Abacus's `errorType`) hands HttpClient its
    own classifier with this signature.
    """
    if status in (429,):
        return ErrorKind.THROTTLED
    if status in (408,) or status >= 500:
        return ErrorKind.TRANSIENT
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status in (401, 403):
        return ErrorKind.AUTH
    return ErrorKind.PERMANENT


class HttpClient:
    """One platform endpoint: a requests Session, auth headers, timeouts, retries and error parsing."""

    def __init__(self, base_url: str, *, auth: Callable[[], Mapping[str, str]] | None = None,
                 retry: RetryPolicy = RetryPolicy(), timeout: tuple[float, float] = (5.0, 30.0),
                 error_parser: ErrorParser = default_error_parser, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, user_agent: str = "runbridge/0.1",
                 classify: ErrorClassifier = error_kind) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.retry = retry
        self.timeout = timeout
        self.error_parser = error_parser
        self.classify = classify
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.sleep = sleep

    def url(self, path: str) -> str:
        """The absolute URL for `path`; an absolute URL must be on the endpoint's own origin.

        Credentials go only to the configured endpoint: a `nextLink`, a `Location` or a page token that
        names another scheme, host or port is refused before anything is sent (SECURITY.md F1).
        """
        if not path.startswith(("http://", "https://")):
            return f"{self.base_url}/{path.lstrip('/')}"
        if _origin(path) != _origin(self.base_url):
            raise PlatformError(ErrorKind.PERMANENT, "Refusing a URL outside the connection's endpoint.",
                                code="ForeignUrl")
        return path

    def describe(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                 json: Any = None) -> dict[str, Any]:
        """The call `request` would send, as `{"method", "url", "body"}`, without sending it (a dry run).

        Headers are left out: they carry the credentials (Authorization, apiKey, x-azureml-token).
        """
        prepared = requests.Request(method, self.url(path), params=params).prepare()
        return {"method": method, "url": prepared.url, "body": json}

    def request(self, method: str, path: str, *, operation: str, params: Mapping[str, Any] | None = None,
                json: Any = None, headers: Mapping[str, str] | None = None, retry: RetryPolicy | None = None,
                allow: tuple[int, ...] = ()) -> requests.Response:
        """Send one call with retries; return the response (2xx or a status in `allow`) or raise PlatformError."""
        policy = retry or self.retry
        attempts = Attempts()
        url = self.url(path)
        while True:
            merged = dict(self.auth() if self.auth else {})
            merged.update(headers or {})
            try:
                # No redirects: none of the platform APIs needs one, and requests would carry custom
                # credential headers (apiKey, x-azureml-token) to the new host (SECURITY.md F2).
                response = self.session.request(method, url, params=params, json=json, headers=merged,
                                                timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as exc:
                # Every failure of the wire is transient: refused, timed out, reset, a body cut short
                # (ChunkedEncodingError), a body that does not decode (ContentDecodingError).
                kind = "connect" if _never_sent(exc) else "read"
                delay = retry_delay(policy, attempts, kind, method, None, None, seed=url)
                if delay is None:
                    raise PlatformError(ErrorKind.TRANSIENT, f"{type(exc).__name__} calling the platform",
                                        code=_wire_code(exc, kind), operation=operation) from None
                setattr(attempts, kind, getattr(attempts, kind) + 1)
                attempts.history.append(kind)
                log.info("%s %s: %s error, retrying in %.1fs", method, operation, kind, delay)
                self.sleep(delay)
                continue
            if 200 <= response.status_code < 300 or response.status_code in allow:
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = retry_delay(policy, attempts, "status", method, response.status_code, retry_after, seed=url)
            if delay is None:
                raise self._error(response, retry_after, operation)
            attempts.status += 1
            attempts.history.append(str(response.status_code))
            log.info("%s %s: HTTP %d, retrying in %.1fs", method, operation, response.status_code, delay)
            self.sleep(delay)

    def request_json(self, method: str, path: str, *, operation: str, **options: Any) -> dict[str, Any]:
        """`request`, then the JSON body (read_json): the one way a client reads an answer."""
        return read_json(self.request(method, path, operation=operation, **options), operation)

    def redact(self, text: str) -> str:
        """`text` without any form of the credentials this client sends (core/redaction.py): for every
        message built from a platform's answer."""
        return redact(text, self._secrets())

    def _secrets(self) -> list[str]:
        try:
            sent = self.auth() if self.auth else {}
        except Exception:  # no credential now: nothing of it can be in an answer either
            return []
        return [value.split(" ", 1)[1] if value.startswith("Bearer ") else value for value in sent.values()]

    def _error(self, response: requests.Response, retry_after: float | None, operation: str) -> PlatformError:
        code, message = self.error_parser(response)
        kind = self.classify(response.status_code, code)
        if kind == ErrorKind.TRANSIENT and retry_after is not None:
            kind = ErrorKind.THROTTLED
        secrets = self._secrets()  # a platform may echo a key or token back, whole, in part or encoded
        return PlatformError(kind, redact(message, secrets), code=code and redact(code, secrets),
                             http_status=response.status_code, retry_after=retry_after, operation=operation)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _wire_code(exc: requests.RequestException, kind: str) -> str:
    if kind == "connect":
        return "ConnectionError"
    if isinstance(exc, requests.Timeout):
        return "Timeout"
    return "BrokenAnswer"  # reset, dropped or cut mid-answer: the server may have acted


def _never_sent(exc: Exception) -> bool:
    # requests raises ConnectTimeout, or ConnectionError wrapping a NewConnectionError, when the
    # connection was never made; anything else may have reached the server.
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text
