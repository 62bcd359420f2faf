"""A scheduler's webhook endpoint on loopback: takes runbridge's signed events and checks each signature.

Not a platform: it stands where a scheduler would, for tests and `make demo`. Every POST is kept with the
result of checking its Standard Webhooks signature against the secret the receiver was given (`verified`
None when it matched, else why not), so a wrong secret shows in `deliveries`. `down()` makes it answer 503 until
`up()`; `outage` (a function, e.g. of a virtual clock) does the same while it answers True.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from platforms.notify.webhook import verify


class WebhookReceiver:
    """Serves `POST /hook` on 127.0.0.1 (`url` once started); `GET /hook` lists what it took."""

    def __init__(self, secret: str, port: int = 0) -> None:
        self.secret = secret
        self.deliveries: list[dict[str, Any]] = []
        self._status = 200
        self.outage: Callable[[], bool] | None = None  # while it answers True, the receiver answers 503
        self.refused = 0  # deliveries answered with an error
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    status = receiver._status
                    if receiver.outage is not None and receiver.outage():
                        status = 503
                    if status >= 300:
                        receiver.refused += 1
                    else:
                        receiver.deliveries.append({
                            "id": self.headers.get("webhook-id"), "headers": dict(self.headers.items()),
                            "receivedAt": time.monotonic(),
                            "event": json.loads(body), "verified": verify(receiver.secret, dict(self.headers.items()),
                                                                          body)})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                """What a person watching locally reads: every delivery taken, with its signature check."""
                with receiver._lock:
                    shown = [{"id": d["id"], "verified": d["verified"] is None, "problem": d["verified"],
                              "event": d["event"]} for d in receiver.deliveries]
                body = json.dumps({"deliveries": shown}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                        name="webhook-receiver")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def down(self, status: int = 503) -> None:
        with self._lock:
            self._status = status

    def up(self) -> None:
        with self._lock:
            self._status = 200

    def events(self) -> list[dict[str, Any]]:
        """The events taken, in arrival order (repeats included)."""
        with self._lock:
            return [d["event"] for d in self.deliveries]
