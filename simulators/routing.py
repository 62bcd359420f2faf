"""Requests, responses and route tables for the simulators.

A platform describes its REST API as a list of `Route`s: method, path pattern with `{named}` segments,
the operation name (the spec's operationId where there is one, so faults and counters speak the
platform's language) and a handler. A handler gets a `Request` and returns a `Response`, which is a
plain `(status, json_body, headers)` tuple, so `return 200, {"ok": True}, {}` works too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import unquote

UNMATCHED = "(unmatched)"
"""Operation name under which requests that match no route are counted."""


class Response(NamedTuple):
    """What a handler returns: HTTP status, a JSON-serialisable body (None: no body) and headers.

    A `bytes` body is sent unchanged (for non-JSON answers such as a gateway's HTML error page), with
    the Content-Type given in `headers` (default `text/plain`).
    """

    status: int
    body: Any = None
    headers: Mapping[str, str] | None = None


@dataclass
class Request:
    """One HTTP request as a handler sees it.

    `headers` has lower-cased names; `query` keeps the first value of each parameter; `body` is the
    parsed JSON body (None when empty); `body_error` says why a non-empty body was not valid JSON.
    `base_url` is scheme and host as the client addressed the simulator, for absolute links
    (nextLink, Location).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None
    body_error: str | None = None
    base_url: str = ""
    params: dict[str, str] = field(default_factory=dict)
    operation: str = UNMATCHED

    def header(self, name: str, default: str | None = None) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


Handler = Callable[[Request], Response | tuple]


@dataclass(frozen=True)
class Route:
    """One operation: `method` + `pattern` (e.g. `/jobs/{name}`) served by `handler`.

    `auth=False` exempts the route from the server's bearer check. `ignore_case=True` matches the
    literal parts of the pattern case-insensitively (ARM paths are); `{named}` values keep their case.
    """

    method: str
    pattern: str
    operation: str
    handler: Handler
    auth: bool = True
    ignore_case: bool = False

    def match(self, path: str) -> dict[str, str] | None:
        """The decoded named segments if `path` fits the pattern, else None."""
        found = _compile(self.pattern, self.ignore_case).fullmatch(path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


@lru_cache(maxsize=256)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", pattern)
    regex = []
    for index, part in enumerate(parts):
        if index % 2:
            regex.append(f"(?P<{part}>[^/]+)")
        elif part:
            literal = re.escape(part)
            regex.append(f"(?i:{literal})" if ignore_case else literal)
    return re.compile("".join(regex))


class Router:
    """Finds the route for a method and path; tells 404 (no path) from 405 (path, other method)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)

    def find(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """(route, params, []) on a match, else (None, {}, methods allowed on this path)."""
        allowed: list[str] = []
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if route.method == method:
                return route, params, []
            allowed.append(route.method)
        return None, {}, allowed


def as_response(result: Response | tuple) -> Response:
    """Accept a handler's `Response` or a plain (status, body[, headers]) tuple."""
    return result if isinstance(result, Response) else Response(*result)
