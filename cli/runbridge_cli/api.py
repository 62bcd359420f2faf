"""runbridge's HTTP API as the command uses it: one request function with retries and one error family.

Every request the command sends may be repeated safely: a run or chain start always carries its id (the
command makes one when none is given), so a retried start answers 200 with the run it already started.
The key travels only in the `x-functions-key` header and is cut out of anything the command prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from runbridge_cli import __version__
from runbridge_cli.clock import Clock
from runbridge_cli.policy import RetryPolicy, parse_retry_after, retry_backoff

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# runbridge's own 502 codes for a platform that refused the connection (its credential, its key, a role the
# identity lacks): asking again cannot help, so they are a refusal (exit 4), not an outage (exit 5).
PERMANENT_CODES = frozenset({"AuthenticationFailed", "PlatformRejected"})
CONNECT_TIMEOUT, READ_TIMEOUT = 10.0, 100.0  # seconds; a start may take a while on a cold Function App


class ApiError(Exception):
    """A request that did not get a usable answer; `str()` is safe to print (no key)."""


class Refused(ApiError):
    """runbridge answered 4xx: the request is wrong; its error names the field."""

    def __init__(self, status: int, code: str, message: str, field: str | None) -> None:
        self.status, self.code, self.message, self.field = status, code, message, field
        where = f" at {field}" if field else ""
        super().__init__(f"refused (HTTP {status} {code}){where}: {message}")


class Unreachable(ApiError):
    """runbridge could not be reached, or kept answering 5xx or 429, after the retries."""


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: status code, JSON body, and the Retry-After hint in seconds if any."""

    status: int
    body: dict[str, Any]
    retry_after: float | None = None


@dataclass
class Api:
    """The runbridge HTTP API at `base_url` (with or without `/api`), with the function key if one is needed."""

    base_url: str
    key: str | None = None
    clock: Clock = field(default_factory=Clock)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        base = self.base_url.strip().rstrip("/")
        self.base_url = base[: -len("/api")] if base.endswith("/api") else base
        self.session.headers["User-Agent"] = f"runbridge-cli/{__version__}"
        if self.key:
            self.session.headers["x-functions-key"] = self.key

    def scrub(self, text: str) -> str:
        """`text` with the key cut out, whatever echoed it."""
        return text.replace(self.key, "***") if self.key else text

    def call(self, method: str, path: str, *, body: Any = None, params: Mapping[str, str] | None = None) -> Answer:
        """Send one request, retrying while runbridge is unreachable or answers 429/5xx; raise Refused on a 4xx."""
        url = f"{self.base_url}/api/{path}"
        failures = 0
        while True:
            retry_after: float | None = None
            try:
                response = self.session.request(method, url, json=body, params=params,
                                                 timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
            except requests.RequestException as exc:
                problem = f"runbridge unreachable ({type(exc).__name__}) on {method} {url}"
            else:
                if response.status_code < 300:
                    body = _json(response)
                    if not isinstance(body, dict):  # a web page or a proxy's answer: not runbridge's API
                        raise Unreachable(self.scrub(f"{method} {url} answered {response.status_code} without "
                                                     "a JSON object: is --url runbridge's address?"))
                    return Answer(response.status_code, body, parse_retry_after(response.headers.get("Retry-After")))
                if response.status_code not in RETRIED_STATUSES or _error_code(response) in PERMANENT_CODES:
                    raise self._refused(response)
                problem = f"runbridge answered HTTP {response.status_code} on {method} {url}{_detail(response)}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            failures += 1
            wait = retry_backoff(self.retry, failures, retry_after)
            if wait is None:
                raise Unreachable(self.scrub(f"gave up after {failures} tries: {problem}"))
            self.clock.sleep(wait)

    def _refused(self, response: requests.Response) -> Refused:
        error = _json(response)
        error = error.get("error") if isinstance(error, dict) else None
        if not isinstance(error, dict):  # a host's own 401/403/404 (no runbridge error body)
            error = {"code": response.reason or "Refused", "message": response.text.strip()[:300] or "no details"}
        return Refused(response.status_code, self.scrub(str(error.get("code") or "Refused")),
                       self.scrub(str(error.get("message") or "")),
                       self.scrub(str(error["field"])) if error.get("field") is not None else None)


def _error_code(response: requests.Response) -> str | None:
    """The code of runbridge's error body, if the answer has one."""
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code")) if isinstance(error, dict) and error.get("code") else None


def path_of(*parts: str) -> str:
    """An API path from its parts, each one quoted (run ids and connection names come from the caller)."""
    return "/".join(quote(part, safe="") for part in parts)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(response: requests.Response) -> str:
    error = _json(response)
    error = error.get("error") if isinstance(error, dict) else None
    return f" ({error.get('code')}: {error.get('message')})" if isinstance(error, dict) else ""
