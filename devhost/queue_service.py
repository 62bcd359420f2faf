"""The embedded queues on the Azure Queue service REST API, on loopback: a storage account for the app.

With no `AzureWebJobsStorage` setting devhost keeps queue messages in its own store (devhost/queues.py),
but the app also writes to storage queues itself (the events queue sink and `runbridge-events-undelivered`,
platforms/notify/storage_queue.py), through the Queue service's REST API. This endpoint gives those writes,
and any other Queue service client (the azure-storage-queue SDK included), the same queues the host's
triggers read, as Azurite would give them on Azure Storage:

- path-style addressing, `http://127.0.0.1:<port>/devstoreaccount1/<queue>[/messages[/<id>]]`;
- Shared Key authorization with the development account's well-known key, checked: a request signed with
  another key is a 403 AuthenticationFailed, as the service answers;
- create queue, put/peek/get/delete message, queue metadata (the approximate message count), errors as
  `<Error><Code>` XML with `x-ms-error-code`;
- message text in the host.json `messageEncoding` (base64 by default): stored decoded, so a queue trigger
  gets what the writer meant, and shown encoded again to readers.

`devhost serve` starts it and points `AzureWebJobsStorage` at it when no storage account is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import uuid
from collections.abc import Mapping, MutableMapping
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from .azurite import ACCOUNT, ACCOUNT_KEY  # the development storage account
from .queue_encoding import decode, encode, message_encoding
from .queues import STORAGE_SETTING, QueueItem

if TYPE_CHECKING:
    from .host import DevHost

log = logging.getLogger("devhost.queue_service")

MAX_MESSAGE_BYTES = 64 * 1024  # a message's text, as sent (base64 included)
MAX_MESSAGES = 32  # Get/Peek Messages: numofmessages is 1-32
DEFAULT_VISIBILITY = 30
MESSAGE_TTL = timedelta(days=7)  # the service's default time to live
_SIGNED_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
                   "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range")


class QueueServiceError(Exception):
    """An error answer of the Queue service: status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class QueueService:
    """The host's embedded queues behind a loopback Queue service endpoint."""

    def __init__(self, host: DevHost, port: int = 0) -> None:
        self.host = host
        self.encoding = message_encoding(host.app.host_json or {})
        self._key = base64.b64decode(ACCOUNT_KEY)
        self._lock = threading.Lock()
        # Queues exist once created; those the app's triggers read exist from the start, as the Functions
        # host creates them. A queue holding messages exists too (it was written to through the host).
        self._created: set[str] = set()
        for function in host.app.queue_triggers:
            name = function.trigger.get("queueName")
            if name:
                self._created.update({name, f"{name}-poison"})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                        name="devhost-queue-service")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """What `AzureWebJobsStorage` holds for the app to reach these queues."""
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"QueueEndpoint={self.endpoint};")

    def use_as_app_storage(self, environ: MutableMapping[str, str]) -> None:
        """Point the app's `AzureWebJobsStorage` at these queues (after the host chose its queue source)."""
        environ[STORAGE_SETTING] = self.connection_string

    def start(self) -> QueueService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- the operations ---------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict, bytes]:
        """Answer one request: (status, headers, body)."""
        try:
            url = urlsplit(target)
            query = {k.lower(): v for k, v in parse_qsl(url.query, keep_blank_values=True)}
            self._authorize(method, url.path, query, headers, len(body))
            parts = [unquote(p) for p in url.path.split("/") if p]
            if not parts or parts[0] != ACCOUNT:
                raise QueueServiceError(400, "InvalidUri", "The requested URI does not represent any resource.")
            return self._route(method, parts[1:], query, body)
        except QueueServiceError as error:
            text = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{error.code}</Code>'
                    f"<Message>{escape(error.message)}\nRequestId:{uuid.uuid4()}</Message></Error>").encode()
            return error.status, {"x-ms-error-code": error.code, "content-type": "application/xml"}, text

    def _route(self, method: str, parts: list[str], query: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        if len(parts) == 1 and method == "PUT":
            return self._create(parts[0])
        if len(parts) == 1 and method in ("GET", "HEAD") and query.get("comp") == "metadata":
            count = len(self.host.queues.peek(self._existing(parts[0])))
            return 200, {"x-ms-approximate-messages-count": str(count)}, b""
        if len(parts) == 2 and parts[1] == "messages":
            queue = self._existing(parts[0])
            if method == "POST":
                return self._put(queue, body, query)
            if method == "GET":
                return self._get(queue, query)
        if len(parts) == 3 and parts[1] == "messages" and method == "DELETE":
            return self._delete(self._existing(parts[0]), parts[2], query.get("popreceipt", ""))
        raise QueueServiceError(400, "UnsupportedHttpVerb" if len(parts) <= 3 else "InvalidUri",
                                f"{method} is not supported on this resource.")

    def _create(self, queue: str) -> tuple[int, dict, bytes]:
        from core.sinks import QUEUE_NAME

        if not QUEUE_NAME.fullmatch(queue):
            raise QueueServiceError(400, "InvalidResourceName",
                                    "The specified resource name contains invalid characters.")
        with self._lock:
            existed = queue in self._created or bool(self.host.queues.peek(queue))
            self._created.add(queue)
        return (204 if existed else 201), {}, b""

    def _existing(self, queue: str) -> str:
        with self._lock:
            if queue in self._created:
                return queue
        if self.host.queues.peek(queue):
            return queue
        raise QueueServiceError(404, "QueueNotFound", "The specified queue does not exist.")

    def _put(self, queue: str, body: bytes, query: dict[str, str]) -> tuple[int, dict, bytes]:
        try:
            text = ElementTree.fromstring(body).findtext("MessageText")
        except ElementTree.ParseError:
            text = None
        if text is None:
            raise QueueServiceError(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        if len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
            raise QueueServiceError(413, "RequestBodyTooLarge", "The request body is too large and exceeds the "
                                    "maximum permissible limit.")
        try:
            stored = decode(text, self.encoding)
        except ValueError:
            stored = text  # the extension moves such a message to poison when a trigger reads it
        delay = _int(query, "visibilitytimeout", 0, 0, 7 * 24 * 3600)
        now = self.host.clock.now()
        message_id = self.host.enqueue(queue, stored, delay)
        entry = self._entry(message_id, now, receipt=message_id, visible=now + timedelta(seconds=delay))
        return 201, {"content-type": "application/xml"}, _messages_list([entry])

    def _get(self, queue: str, query: dict[str, str]) -> tuple[int, dict, bytes]:
        limit = _int(query, "numofmessages", 1, 1, MAX_MESSAGES)
        now = self.host.clock.now()
        if query.get("peekonly", "").lower() == "true":
            items = self.host.queues.peek(queue)[:limit]
            entries = [self._entry(i.id, _parse(i.inserted), dequeue=i.dequeue_count, text=i.body) for i in items]
        else:
            hidden = _int(query, "visibilitytimeout", DEFAULT_VISIBILITY, 1, 7 * 24 * 3600)
            items = self.host.queues.receive(queue, now, limit, hidden)
            entries = [self._entry(i.id, _parse(i.inserted), dequeue=i.dequeue_count, text=i.body, receipt=i.id,
                                   visible=now + timedelta(seconds=hidden)) for i in items]
        return 200, {"content-type": "application/xml"}, _messages_list(entries)

    def _delete(self, queue: str, message_id: str, receipt: str) -> tuple[int, dict, bytes]:
        # The embedded queue has no pop receipts: a message's receipt is its id.
        if receipt != message_id or not any(i.id == message_id for i in self.host.queues.peek(queue)):
            raise QueueServiceError(404, "MessageNotFound", "The specified message does not exist.")
        self.host.queues.delete(QueueItem(message_id, queue, "", 0, ""))
        return 204, {}, b""

    def _entry(self, message_id: str, inserted: datetime, *, dequeue: int | None = None, text: str | None = None,
               receipt: str | None = None, visible: datetime | None = None) -> dict[str, str]:
        entry = {"MessageId": message_id, "InsertionTime": _http_date(inserted),
                 "ExpirationTime": _http_date(inserted + MESSAGE_TTL)}
        if receipt is not None:
            entry["PopReceipt"] = receipt
        if visible is not None:
            entry["TimeNextVisible"] = _http_date(visible)
        if dequeue is not None:
            entry["DequeueCount"] = str(dequeue)
        if text is not None:
            entry["MessageText"] = encode(text, self.encoding)
        return entry

    # ---- Shared Key (Authorize with Shared Key, Queue service 2009-09-19 and later) -------------
    def _authorize(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
                   length: int) -> None:
        given = headers.get("authorization", "")
        scheme, _, credential = given.partition(" ")
        account, _, signature = credential.partition(":")
        if scheme != "SharedKey" or account != ACCOUNT:
            raise QueueServiceError(403, "AuthenticationFailed", "Server failed to authenticate the request. "
                                    "Make sure the value of Authorization header is formed correctly including "
                                    "the signature.")
        fields = [headers.get(name, "") for name in _SIGNED_HEADERS]
        fields[2] = str(length) if length else ""
        if headers.get("x-ms-date"):
            fields[5] = ""  # Date is left empty when x-ms-date is sent
        canonical_headers = "".join(f"{k}:{' '.join(v.split())}\n" for k, v in sorted(headers.items())
                                    if k.startswith("x-ms-"))
        resource = f"/{ACCOUNT}{path}" + "".join(f"\n{k}:{v}" for k, v in sorted(query.items()))
        to_sign = "\n".join([method, *fields]) + "\n" + canonical_headers + resource
        expected = base64.b64encode(hmac.new(self._key, to_sign.encode("utf-8"), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise QueueServiceError(403, "AuthenticationFailed", "Server failed to authenticate the request. "
                                    "Make sure the value of Authorization header is formed correctly including "
                                    "the signature.")


def _handler_for(service: QueueService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = service.handle(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in {"x-ms-request-id": str(uuid.uuid4()), "x-ms-version": headers.get("x-ms-version", ""),
                                **extra}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def _messages_list(entries: list[dict[str, str]]) -> bytes:
    items = "".join("<QueueMessage>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in e.items()) + "</QueueMessage>"
                    for e in entries)
    return f'<?xml version="1.0" encoding="utf-8"?><QueueMessagesList>{items}</QueueMessagesList>'.encode()


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise QueueServiceError(400, "OutOfRangeQueryParameterValue",
                                f"One of the query parameters specified in the request URI is outside the "
                                f"permissible range: {name}.")
    return value


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)
