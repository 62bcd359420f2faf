"""The shared simulator server: one `Platform` served over real HTTP on loopback.

`SimServer` runs a stdlib `ThreadingHTTPServer` in a background thread (`start()` returns the base
URL, port 0 picks a free port; `stop()`), so the real `requests` code path of a client runs against
it. For every request it:

1. answers the `/_sim` control routes itself (stats, reset, faults, virtual clock), which exist only
   in simulators and need no auth;
2. finds the platform route (404/405 in the platform's error shape otherwise) and counts the request
   under the route's operation name;
3. checks `Authorization: Bearer <any non-empty token>` unless the platform or route opts out, then
   the platform's own `check()` (api-version, scope...);
4. asks the `FaultInjector` for a fault and applies it: error statuses, a dropped socket, a real
   delay, or running the operation and then hanging (the PUT that created a job but timed out);
5. runs the handler under one server-wide lock, so platform state needs no locking of its own.

Handlers must not sleep: job lifecycles come from `platform.clock` (see `simulators.lifecycle`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import struct
import sys
import threading
import weakref
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devkit.clock import Clock
from simulators.faults import Fault, FaultInjector, FaultKind
from simulators.routing import UNMATCHED, Request, Response, Route, Router, as_response
from simulators.tls import Certificate, make_certificate

log = logging.getLogger("simulators")

DEFAULT_RETRY_AFTER = 1
"""Retry-After seconds of a throttle fault that names none."""

REQUEST_LOG_SIZE = 20_000
"""How many platform requests `GET /_sim/requests` keeps (the oldest are dropped first)."""

_ERROR_FAULTS = {
    FaultKind.THROTTLE: (429, "Too many requests; retry after the Retry-After delay."),
    FaultKind.SERVER_ERROR: (500, "Internal server error."),
    FaultKind.UNAVAILABLE: (503, "The service is temporarily unavailable."),
    FaultKind.STRAY_403: (403, "The client does not have authorization to perform this action."),
    FaultKind.STRAY_404: (404, "The requested resource was not found."),
    FaultKind.ABSURD_RETRY_AFTER: (429, "Too many requests; retry after the Retry-After delay."),
}
ABSURD_RETRY_AFTERS = ("99999999999", "1e13", "Fri, 31 Dec 9999 23:59:59 GMT")
"""What ABSURD_RETRY_AFTER faults put in Retry-After, in turn: seconds past any date, a float, a far date."""

# An Application Gateway v2 502 page as gateways in front of Azure services send it: HTML, not the platform's
# JSON error shape. The same page with 200 is what a proxy that swallowed the answer sends.
GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
    b"</center>\r\n<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\r\n</body>\r\n</html>\r\n"
)
_PAGE_FAULTS = {FaultKind.GATEWAY_502: 502, FaultKind.GATEWAY_200: 200}
_ANSWER_FAULTS = frozenset({FaultKind.GATEWAY_200, FaultKind.CUT_BODY, FaultKind.RESET, FaultKind.NON_JSON_200})
"""Faults that run the operation, then spoil its answer: the client cannot know what happened."""


class CutAnswer:
    """A response whose body stops halfway: the connection is closed (FIN), or reset (RST) when `reset`."""

    def __init__(self, response: Response, reset: bool) -> None:
        self.response, self.reset = response, reset
        self.status, self.headers = response.status, response.headers


class Platform:
    """Base class of a simulated platform; subclass it once per platform.

    Must override: `routes()` and `error_response()`. May override: `check()` (refuse a request
    before faults and the handler: api-version, scope, quotas), `auth_error()` (the platform's 401),
    `decorate()` (headers every response carries), `sim_routes()` (extra `/_sim/...` routes),
    `reset()` (restore the seeded catalog) and `stats()` (must include `remoteJobsCreated` and
    `runningNow`). Set `requires_bearer = False` for a platform with another auth scheme and check it
    in `check()` instead.
    """

    name = "platform"
    requires_bearer = True
    events_source: str | None = None  # the `events` setting of a platform that publishes status events

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def routes(self) -> list[Route]:
        """The platform's REST API as a route table."""
        raise NotImplementedError

    def error_response(self, request: Request | None, status: int, message: str) -> Response:
        """An error in the platform's own body shape, for faults and framework errors (404, 405, 500...)."""
        raise NotImplementedError

    def auth_error(self, request: Request, missing: bool) -> Response:
        """The platform's 401: `missing` tells a missing header from a malformed one."""
        reason = "is missing" if missing else "must be 'Bearer <token>'"
        return self.error_response(request, 401, f"The 'Authorization' header {reason}.")

    def check(self, request: Request) -> Response | None:
        """Refuse a request before faults and the handler (return an error), or accept it (None)."""
        return None

    def decorate(self, request: Request, response: Response) -> Response:
        """Add what every response carries (request ids, quota headers); default: unchanged."""
        return response

    def sim_routes(self) -> list[Route]:
        """Platform-specific control routes under `/_sim/` (never part of the real API)."""
        return []

    def subscribe(self, webhook: str) -> None:
        """Deliver the platform's status events to `webhook` (only where `events_source` is set)."""
        raise NotImplementedError(f"the {self.name} simulator publishes no status events")

    def start(self) -> None:
        """Start the platform's own background work, if any (SimServer.start calls it)."""

    def stop(self) -> None:
        """Stop what `start` started (SimServer.stop calls it)."""

    def reset(self) -> None:
        """Restore the seeded catalog and zero the platform's counters."""

    def stats(self) -> dict[str, Any]:
        """Platform counters; at least `remoteJobsCreated` and `runningNow`."""
        return {"remoteJobsCreated": 0, "runningNow": 0}


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None when absent or malformed."""
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def sim_error(status: int, message: str) -> Response:
    """An error of a `/_sim` control route (simulator-only shape)."""
    return Response(status, {"error": {"code": "SimulatorError", "message": message}})


class SimServer:
    """Serves one platform on 127.0.0.1 with fault injection, counters and the `/_sim` routes."""

    def __init__(
        self,
        platform: Platform,
        *,
        faults: FaultInjector | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
    ) -> None:
        self.platform = platform
        self.tls = tls  # serve https with a self-signed certificate made at start (simulators.tls)
        self._certificate: Certificate | None = None
        self.faults = faults or FaultInjector()
        self.host = host
        self.port = port
        self._router = Router(platform.routes())
        self._sim_router = Router(self._control_routes() + platform.sim_routes())
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._requests: Counter[str] = Counter()
        self._faults_by_kind: Counter[str] = Counter()
        self._faults_by_operation: Counter[str] = Counter()
        self._absurd = 0  # ABSURD_RETRY_AFTER faults answered so far (picks the next value)
        self._request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:7101`, or `https://...` with `tls` (after `start()`)."""
        if self._httpd is None:
            raise RuntimeError("simulator not started")
        return f"{self._httpd.scheme}://{self.host}:{self._httpd.server_address[1]}"

    @property
    def ca_file(self) -> str | None:
        """With `tls`, after `start()`: the PEM certificate a client must trust (REQUESTS_CA_BUNDLE,
        SSL_CERT_FILE, `requests`' `verify=`); the same file across restarts of this server. Else None."""
        return None if self._certificate is None else str(self._certificate.cert_file)

    def start(self) -> str:
        """Start serving in a background thread; return the base URL."""
        if self._httpd is not None:
            raise RuntimeError("simulator already started")
        self._stopping.clear()
        if self.tls and self._certificate is None:
            self._certificate = make_certificate()
            weakref.finalize(self, self._certificate.remove)
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.sim = self
        if self._certificate is not None:
            self._httpd.tls_context, self._httpd.scheme = self._certificate.server_context(), "https"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to one interval
            name=f"sim-{self.platform.name}",
            daemon=True,
        )
        self._thread.start()
        self.platform.start()
        log.info("%s simulator listening on %s", self.platform.name, self.url)
        return self.url

    def stop(self) -> None:
        """Stop serving: wake delayed requests, close open connections, free the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        self.platform.stop()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- state ---------------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """What `GET /_sim/stats` answers: platform counters, requests and faults."""
        with self._lock:
            return {
                "platform": self.platform.name,
                "now": self.platform.clock.now().isoformat(),
                **self.platform.stats(),
                "requestsByOperation": dict(self._requests),
                "requestsTotal": sum(self._requests.values()),
                "faultsInjected": sum(self._faults_by_kind.values()),
                "faultsByKind": dict(self._faults_by_kind),
                "faultsByOperation": dict(self._faults_by_operation),
                "faultsPending": sum(fault.times for fault in self.faults.pending()),
                "faultRate": self.faults.rate,
            }

    def reset(self) -> None:
        """Restore the seeded catalog, zero every counter, drop scripted faults, reseed rate faults."""
        with self._lock:
            self.platform.reset()
            self.faults.reset()
            self._requests.clear()
            self._faults_by_kind.clear()
            self._faults_by_operation.clear()
            self._request_log.clear()
            self._absurd = 0

    def request_log(self) -> list[dict[str, Any]]:
        """The platform requests received, oldest first: operation, method, path, query, arrival time on the
        platform's clock, the status answered (None: connection dropped) and the Retry-After answered."""
        with self._lock:
            return list(self._request_log)

    # -- dispatch ------------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response | CutAnswer | None:
        """Answer one request; None means: drop the connection without a response."""
        if request.path == "/_sim" or request.path.startswith("/_sim/"):
            return self._dispatch_control(request)
        arrived = self.platform.clock.now()
        response = self._dispatch_platform(request)
        headers = {name.lower(): value for name, value in ((response.headers or {}) if response else {}).items()}
        with self._lock:
            self._request_log.append({
                "operation": request.operation or UNMATCHED, "method": request.method, "path": request.path,
                "query": dict(request.query), "at": arrived.isoformat(),
                "status": None if response is None else response.status,
                "retryAfter": headers.get("retry-after"),
            })
        return response

    def _dispatch_platform(self, request: Request) -> Response | CutAnswer | None:
        route, params, allowed = self._router.find(request.method, request.path)
        platform = self.platform
        with self._lock:
            if route is None:
                self._requests[UNMATCHED] += 1
                if allowed:
                    message = f"{request.method} is not allowed here."
                    return self._error(request, 405, message, {"Allow": ", ".join(allowed)})
                return self._error(request, 404, f"No route for {request.method} {request.path}.")
            request.params, request.operation = params, route.operation
            self._requests[route.operation] += 1
            refusal = self._admit(route, request)
            if refusal is not None:
                return platform.decorate(request, refusal)
            fault = self.faults.pick(route.operation)
            if fault is not None:
                self._faults_by_kind[fault.kind.value] += 1
                self._faults_by_operation[route.operation] += 1
                log.info("fault %s on %s %s", fault.kind.value, request.method, request.path)
        return self._apply(route, request, fault)

    def _admit(self, route: Route, request: Request) -> Response | None:
        if route.auth and self.platform.requires_bearer and bearer_token(request) is None:
            missing = request.header("authorization") is None
            return self.platform.auth_error(request, missing)
        return self.platform.check(request)

    def _apply(self, route: Route, request: Request, fault: Fault | None) -> Response | CutAnswer | None:
        if fault is None:
            return self._run(route, request)
        if fault.kind in _ERROR_FAULTS:
            status, message = _ERROR_FAULTS[fault.kind]
            retry_after: int | str | None = fault.retry_after
            if fault.kind is FaultKind.THROTTLE and retry_after is None:
                retry_after = DEFAULT_RETRY_AFTER
            if fault.kind is FaultKind.ABSURD_RETRY_AFTER:
                with self._lock:
                    retry_after = ABSURD_RETRY_AFTERS[self._absurd % len(ABSURD_RETRY_AFTERS)]
                    self._absurd += 1
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            with self._lock:
                return self._error(request, status, message, headers)
        if fault.kind is FaultKind.GATEWAY_502:
            return Response(502, GATEWAY_PAGE, {"Content-Type": "text/html"})
        if fault.kind is FaultKind.DROP:
            return None
        if fault.kind in _ANSWER_FAULTS:
            return self._spoil(fault, self._run(route, request))
        if fault.kind is FaultKind.SLOW and self._stopping.wait(fault.seconds):
            return None  # stopping: give up the delayed request
        response = self._run(route, request)
        if fault.kind is FaultKind.APPLY_THEN_TIMEOUT:
            self._stopping.wait(fault.seconds)
            if fault.status is None or self._stopping.is_set():
                return None
            with self._lock:
                return self._error(request, fault.status, "The operation timed out at the gateway.")
        return response

    @staticmethod
    def _spoil(fault: Fault, answer: Response) -> Response | CutAnswer:
        """The answer of an operation that ran, spoiled on its way back by `fault`."""
        if fault.kind in _PAGE_FAULTS:
            return Response(_PAGE_FAULTS[fault.kind], GATEWAY_PAGE, {"Content-Type": "text/html"})
        if fault.kind is FaultKind.NON_JSON_200:
            return Response(200, b"", {"Content-Type": "application/json; charset=utf-8"})
        return CutAnswer(answer, reset=fault.kind is FaultKind.RESET)

    def _run(self, route: Route, request: Request) -> Response:
        with self._lock:
            if request.body_error is not None:
                return self._error(request, 400, request.body_error)
            try:
                response = as_response(route.handler(request))
            except Exception as exc:  # a simulator bug must still answer, in the platform's shape
                log.exception("handler for %s failed", route.operation)
                return self._error(request, 500, f"Simulator error: {exc}")
            return self.platform.decorate(request, response)

    def _error(
        self, request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """An error in the platform's shape plus `headers`, decorated like every answer (hold the lock)."""
        response = self.platform.error_response(request, status, message)
        merged = {**(response.headers or {}), **(headers or {})}
        return self.platform.decorate(request, response._replace(headers=merged))

    # -- /_sim control routes ------------------------------------------------------------------------

    def _dispatch_control(self, request: Request) -> Response:
        route, params, allowed = self._sim_router.find(request.method, request.path)
        if route is None:
            status = 405 if allowed else 404
            return sim_error(status, f"No simulator route for {request.method} {request.path}.")
        request.params, request.operation = params, route.operation
        if request.body_error is not None:
            return sim_error(400, request.body_error)
        with self._lock:
            try:
                return as_response(route.handler(request))
            except ValueError as exc:
                return sim_error(400, str(exc))

    def _control_routes(self) -> list[Route]:
        return [
            Route("GET", "/_sim/stats", "_sim.stats", lambda r: Response(200, self.stats()), auth=False),
            Route("POST", "/_sim/reset", "_sim.reset", self._reset_route, auth=False),
            Route("GET", "/_sim/requests", "_sim.requests",
                  lambda r: Response(200, {"requests": self.request_log()}), auth=False),
            Route("GET", "/_sim/faults", "_sim.faults", self._faults_view, auth=False),
            Route("POST", "/_sim/faults", "_sim.faults.add", self._faults_add, auth=False),
            Route("DELETE", "/_sim/faults", "_sim.faults.clear", self._faults_clear, auth=False),
            Route("GET", "/_sim/clock", "_sim.clock", self._clock_view, auth=False),
            Route("POST", "/_sim/clock", "_sim.clock.advance", self._clock_advance, auth=False),
        ]

    def _reset_route(self, request: Request) -> Response:
        self.reset()
        return Response(200, self.stats())

    def _faults_view(self, request: Request) -> Response:
        faults = self.faults
        return Response(
            200,
            {
                "pending": [fault.to_json() for fault in faults.pending()],
                "rate": faults.rate,
                "seed": faults.seed,
                "kinds": [kind.value for kind in faults.kinds],
            },
        )

    def _faults_add(self, request: Request) -> Response:
        """Body: a fault, a list of faults, or `{"faults": [...], "rate": r, "seed": s, "kinds": [...]}`."""
        body = request.body
        if isinstance(body, dict) and "kind" not in body:
            unknown = set(body) - {"faults", "rate", "seed", "kinds"}
            if unknown:
                raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
            items = body.get("faults") or []
        else:
            items = body if isinstance(body, list) else [body]
        if not isinstance(items, list):
            raise ValueError("'faults' must be a list")
        faults = [Fault.from_json(item) for item in items]  # all valid before anything changes
        if isinstance(body, dict) and "kind" not in body:
            self.faults.configure(rate=body.get("rate"), seed=body.get("seed"), kinds=body.get("kinds"))
        self.faults.script(*faults)
        return self._faults_view(request)

    def _faults_clear(self, request: Request) -> Response:
        self.faults.clear()
        return self._faults_view(request)

    def _clock_view(self, request: Request) -> Response:
        clock = self.platform.clock
        return Response(
            200, {"now": clock.now().isoformat(), "virtual": bool(getattr(clock, "virtual", False))}
        )

    def _clock_advance(self, request: Request) -> Response:
        """Body: `{"seconds": N}`; only a virtual clock can be moved (409 otherwise)."""
        clock = self.platform.clock
        if not getattr(clock, "virtual", False):
            return sim_error(409, "Only a virtual clock can be advanced (start with --clock virtual).")
        body = request.body if isinstance(request.body, dict) else {}
        seconds = body.get("seconds")
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError('body must be {"seconds": <non-negative number>}')
        clock.advance(seconds)
        return self._clock_view(request)


# -- HTTP plumbing -----------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    """Tracks open connections so `stop()` can close idle keep-alive sockets too."""

    daemon_threads = True
    sim: SimServer
    scheme = "http"
    tls_context: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        # With TLS the handshake waits for the handler's thread (`_Handler.handle`), not the accept loop
        connection, address = super().get_request()
        if self.tls_context is not None:
            connection = self.tls_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a killed host) is normal here; anything else is logged."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        log.exception("simulator request from %s failed", client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            _shutdown(connection)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services and the requests pool use it
    timeout = 60  # idle keep-alive connections end after this
    disable_nagle_algorithm = True  # headers and body are two writes: without this each answer waits ~40 ms
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def handle(self) -> None:
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError) as exc:  # e.g. a client that does not trust the certificate
                log.debug("TLS handshake with %s failed: %s", self.address_string(), exc)
                self.close_connection = True
                return
        super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        request = _make_request(self.command, self.path, dict(self.headers.items()), raw, self.server)
        response = self.server.sim.dispatch(request)
        if response is None:
            self.close_connection = True
            _shutdown(self.connection)
            return
        if isinstance(response, CutAnswer):
            self._write(response.response, cut=True)
            self.close_connection = True
            if response.reset:  # RST, not FIN: SO_LINGER with a zero timeout, then close
                with contextlib.suppress(OSError):
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                return
            _shutdown(self.connection)
            return
        self._write(response)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

    def _write(self, response: Response, cut: bool = False) -> None:
        # A `bytes` body goes out as it is (a gateway's HTML error page, say), typed by the response's own
        # Content-Type header or as text; any other body is JSON.
        raw = isinstance(response.body, (bytes, bytearray))
        body = bytes(response.body) if raw else (b"" if response.body is None else json.dumps(response.body).encode())
        headers = response.headers or {}
        typed = any(name.lower() == "content-type" for name in headers)
        try:
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            if body and not typed:
                content_type = "text/plain; charset=utf-8" if raw else "application/json; charset=utf-8"
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: max(1, len(body) // 2)] if cut else body)
            if cut:
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout)
            self.close_connection = True


def _make_request(
    method: str, target: str, headers: dict[str, str], raw: bytes, server: _HTTPServer
) -> Request:
    parts = urlsplit(target)
    query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    lowered = {name.lower(): value for name, value in headers.items()}
    host = lowered.get("host") or f"{server.server_address[0]}:{server.server_address[1]}"
    body, body_error = None, None
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError as exc:
            body_error = f"The request body is not valid JSON: {exc}"
    return Request(method, parts.path, query, lowered, body, body_error, f"{server.scheme}://{host}")


def _shutdown(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
