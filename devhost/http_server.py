"""The host's HTTP front door on loopback: the app's HTTP triggers under the route prefix, the Durable
management API, and the Functions admin route that invokes a non-HTTP function by name.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from .eventgrid import WEBHOOK_PATH, serve_event_grid
from .host import DevHost
from .management import PREFIX, RPC_PREFIX, ManagementApi

log = logging.getLogger("devhost.http")
MAX_BODY = 100 * 1024 * 1024  # the Functions host's request size limit
# Host header names every loopback front door answers to (the ASP.NET host-filtering idea: a page
# reached through DNS rebinding sends its own name, and is refused).
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


class _Server(ThreadingHTTPServer):
    """A thread per connection and a deep accept queue, so a burst of clients is queued, not reset: the
    socketserver default backlog (5) reset bursts a Functions host accepts (300 parallel starts)."""

    daemon_threads = True
    request_queue_size = 1024  # listen() backlog; the kernel caps it at net.core.somaxconn


class HttpFrontDoor:
    """Serves one `DevHost` over HTTP on `bind:port` (port 0 picks a free one)."""

    def __init__(self, host: DevHost, port: int = 7071, bind: str = "127.0.0.1",
                 function_key: str | None = None, allowed_hosts: tuple[str, ...] = ()) -> None:
        self.host = host
        self.function_key = function_key
        self._server = _Server((bind, port), _handler_for(self))
        self.port = self._server.server_address[1]
        self._loopback = bind in LOOPBACK_NAMES
        self.allowed_hosts = allowed_host_names(bind, allowed_hosts)
        self.base_url = f"http://{_url_host(bind)}:{self.port}"
        self.management = ManagementApi(host, self.base_url, function_key)
        host.client_binding = self.management.client_binding
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="devhost-http", daemon=True)

    def start(self) -> HttpFrontDoor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- dispatch ------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        url = urlsplit(raw_path)
        path = url.path
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if not self.host_allowed(headers.get("host")):
            return _json(400, {"error": {"code": "BadHost", "message": "The Host header names no host this "
                                         "server answers to (see devhost serve --host/--allow-host)."}})
        if path.startswith(RPC_PREFIX) and not self._loopback:
            return _json(404, {"Message": "The durable RPC endpoint is served on loopback only."})
        if path == "/admin/host/ping":
            return 200, {}, b""
        if path.startswith((PREFIX, RPC_PREFIX, "/admin/")):
            # The Functions host guards its durable webhooks and admin routes with the system/master
            # key; devhost has one key for all of them (the RPC endpoint included: it is on the same port).
            if not self._authorized(query, headers, "ADMIN"):
                return _json(401, {"Message": "A function key is required (code=, x-functions-key or "
                                              "basic auth)."})
            if method == "POST" and body.strip() and not _is_json(headers.get("content-type")):
                return _json(415, {"Message": "Only application/json request content is supported."})
        if path.startswith((PREFIX, RPC_PREFIX)):
            status, extra, payload = self.management.handle(method, path, query, headers, body)
            return status, {"Content-Type": "application/json", **extra}, _encode(payload)
        if path == WEBHOOK_PATH and method == "POST":
            if not self._authorized(query, headers, "FUNCTION"):
                return _json(401, {"Message": "A function key is required (code=, x-functions-key or basic auth)."})
            return serve_event_grid(self.host.app.eventgrid_triggers, self.host.call_function, query, headers, body)
        if path.startswith("/admin/functions/") and method == "POST":
            return self._invoke_by_name(path.rsplit("/", 1)[1], query, headers, body)
        if path == "/admin/host/status":
            return _json(200, {"state": "Running", "instances": self.host.store.counts()})
        prefix = "/" + self.host.app.route_prefix if self.host.app.route_prefix else ""
        if prefix and not (path == prefix or path.startswith(prefix + "/")):
            return _json(404, {"error": {"code": "NotFound", "message": "No function serves this path."}})
        found = self.host.app.find_route(method, path[len(prefix):].strip("/"))
        if found is None:
            return _json(404, {"error": {"code": "NotFound", "message": "No function serves this path."}})
        route, params = found
        if not self._authorized(query, headers, route.auth_level):
            return _json(401, {"error": {"code": "Unauthorized", "message": "A function key is required."}})
        request = func.HttpRequest(method=method, url=self.base_url + raw_path, headers=headers,
                                   params=query, route_params=params, body=body)
        return self._call_http(route.function, request)

    def host_allowed(self, host_header: str | None) -> bool:
        """Whether a request's Host header names this server (no header: refused, as HTTP/1.1 requires one)."""
        if not host_header:
            return False
        return "*" in self.allowed_hosts or _host_name(host_header) in self.allowed_hosts

    def _authorized(self, query: dict[str, str], headers: dict[str, str], level: str) -> bool:
        # Local runs ask for no key unless one is configured (as Core Tools does).
        if not self.function_key or level == "ANONYMOUS":
            return True
        given = query.get("code") or headers.get("x-functions-key") or _basic_password(headers) or ""
        return hmac.compare_digest(given.encode(), self.function_key.encode())

    def _call_http(self, function: Any, request: func.HttpRequest) -> tuple[int, dict, bytes]:
        try:
            result = self.host.call_function(function, {function.trigger["name"]: request})
        except Exception:
            log.exception("HTTP function %s failed", function.name)
            return _json(500, {"error": {"code": "InternalError", "message": "The function failed."}})
        if isinstance(result, func.HttpResponse):
            out_headers = dict(result.headers)
            if result.mimetype and "content-type" not in {k.lower() for k in out_headers}:
                out_headers["Content-Type"] = f"{result.mimetype}; charset={result.charset or 'utf-8'}"
            return result.status_code, out_headers, result.get_body() or b""
        if result is None:
            return 204, {}, b""
        if isinstance(result, (dict, list)):
            return _json(200, result)
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, str(result).encode()

    def _invoke_by_name(self, name: str, query: dict[str, str], headers: dict[str, str],
                        body: bytes) -> tuple[int, dict, bytes]:
        """`POST /admin/functions/{name}` with `{"input": "..."}`, as the Functions host offers."""
        function = self.host.app.all.get(name)
        if function is None:
            return _json(404, {"Message": f"No function named {name}."})
        try:
            text = (json.loads(body or b"{}") or {}).get("input", "")
        except (ValueError, AttributeError):
            return _json(400, {"Message": 'Body must be JSON: {"input": "..."}'})
        try:
            self.host.invoke_trigger(function, text)
        except Exception:
            log.exception("function %s failed", name)
            return _json(500, {"Message": f"Function {name} failed; see the host log."})
        return 202, {}, b""


def _handler_for(front: HttpFrontDoor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                status, headers, body = _json(413, {"error": {"code": "PayloadTooLarge",
                                                              "message": "Request body too large."}})
                self.close_connection = True
            else:
                raw = self.rfile.read(length) if length else b""
                try:
                    status, headers, body = front.handle(self.command, self.path,
                                                         {k.lower(): v for k, v in self.headers.items()}, raw)
                except Exception:
                    log.exception("devhost HTTP error")
                    status, headers, body = _json(500, {"error": {"code": "InternalError",
                                                                  "message": "devhost failed to serve the request."}})
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s " + fmt, self.address_string(), *args)

    return Handler


def allowed_host_names(bind: str, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The Host header names a front door bound to `bind` answers to: loopback names, the bind address
    (unless it is a wildcard) and any names given; "*" in `extra` allows every name."""
    names = set(LOOPBACK_NAMES) | {_host_name(h) for h in extra}
    if bind not in WILDCARD_BINDS:
        names.add(_host_name(bind))
    return frozenset(names)


def _host_name(value: str) -> str:
    """`Host` header or address to a bare lower-case name: `[::1]:7071` -> `::1`, `LocalHost:80` -> `localhost`."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def _url_host(bind: str) -> str:
    try:
        return f"[{bind}]" if ipaddress.ip_address(bind).version == 6 else bind
    except ValueError:
        return bind


def _basic_password(headers: dict[str, str]) -> str | None:
    """The password of a Basic Authorization header: the SDK's client sends the key that way, because
    devhost puts it in the user-info part of `rpcBaseUrl` (its URLs cannot carry a query string)."""
    scheme, _, value = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value.strip(), validate=True).decode("latin-1").partition(":")[2]
    except (binascii.Error, ValueError):
        return None


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _json(status: int, payload: Any) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, _encode(payload)


def _encode(payload: Any) -> bytes:
    return b"" if payload is None else json.dumps(payload).encode()
