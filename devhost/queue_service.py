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
import re
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
from .history import parse_time
from .queue_encoding import decode, encode, message_encoding
from .queues import STORAGE_SETTING, EmbeddedQueues, QueueItem

if TYPE_CHECKING:
    from .host import DevHost

log = logging.getLogger("devhost.queue_service")

MAX_MESSAGE_BYTES = 64 * 1024  # a message's text, as sent (base64 included)
# Queue names: 3-63 lower-case letters, digits and single dashes, not at either end (Naming Queues and Metadata).
QUEUE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
MAX_BODY_BYTES = 1024 * 1024  # more than any request of these operations needs
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
        if not isinstance(host.queues, EmbeddedQueues):
            raise ValueError("the Queue service endpoint serves devhost's embedded queues; this host reads "
                             "Azure Storage queues, which clients reach directly")
        self.host = host
        self.queues: EmbeddedQueues = host.queues
        self.encoding = message_encoding(host.app.host_json or {})
        self._key = base64.b64decode(ACCOUNT_KEY)
        # Queues the app's triggers read exist from the start, as the Functions host creates them.
        for function in host.app.queue_triggers:
            name = function.trigger.get("queueName")
            if name:
                self.queues.create(name)
                self.queues.create(f"{name}-poison")
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
            grouped: dict[str, list[str]] = {}
            for key, value in parse_qsl(url.query, keep_blank_values=True):
                grouped.setdefault(key.lower(), []).append(value)
            self._authorize(method, url.path, grouped, headers, len(body))
            parts = [unquote(p) for p in url.path.split("/") if p]
            if not parts or parts[0] != ACCOUNT:
                raise QueueServiceError(400, "InvalidUri", "The requested URI does not represent any resource.")
            return self._route(method, parts[1:], {k: v[0] for k, v in grouped.items()}, body)
        except QueueServiceError as error:
            return self.refuse(error.status, error.code, error.message)

    def refuse(self, status: int, code: str, message: str) -> tuple[int, dict, bytes]:
        """An error answer in the service's shape: `<Error><Code>` XML and `x-ms-error-code`."""
        text = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
                f"<Message>{escape(message)}\nRequestId:{uuid.uuid4()}</Message></Error>").encode()
        return status, {"x-ms-error-code": code, "content-type": "application/xml"}, text

    def _route(self, method: str, parts: list[str], query: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        if parts:
            _check_name(parts[0])
        if len(parts) == 1 and method == "PUT" and "comp" not in query:
            return (201 if self.queues.create(parts[0]) else 204), {}, b""
        if len(parts) == 1 and method in ("GET", "HEAD") and query.get("comp") == "metadata":
            count = len(self.queues.peek(self._existing(parts[0])))
            return 200, {"x-ms-approximate-messages-count": str(count)}, b""
        if len(parts) == 2 and parts[1] == "messages":
            queue = self._existing(parts[0])
            if method == "POST":
                return self._put(queue, body, query)
            if method == "GET":
                return self._get(queue, query)
        if len(parts) == 3 and parts[1] == "messages" and method == "DELETE":
            return self._delete(self._existing(parts[0]), parts[2], query.get("popreceipt", ""))
        if len(parts) > 3:
            raise QueueServiceError(400, "InvalidUri", "The requested URI does not represent any resource.")
        raise QueueServiceError(501, "NotImplemented", f"devhost's queue endpoint does not implement {method} on "
                                "this resource: it serves create queue, queue metadata, and put, peek, get and "
                                "delete message.")

    def _existing(self, queue: str) -> str:
        if not self.queues.exists(queue):
            raise QueueServiceError(404, "QueueNotFound", "The specified queue does not exist.")
        return queue

    def _put(self, queue: str, body: bytes, query: dict[str, str]) -> tuple[int, dict, bytes]:
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            root = None
        text = root.findtext("MessageText") if root is not None and root.tag == "QueueMessage" else None
        if text is None:
            raise QueueServiceError(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        if len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
            raise QueueServiceError(413, "RequestBodyTooLarge", "The request body is too large and exceeds the "
                                    "maximum permissible limit.")
        delay = _int(query, "visibilitytimeout", 0, 0, 7 * 24 * 3600)
        # Kept as written (`wire`), so readers get it back unchanged; the trigger gets it decoded, or never
        # when it is not in the queue's encoding (the extension poisons it: azure_queues.py).
        try:
            decoded, undecodable = decode(text, self.encoding), False
        except ValueError:
            decoded, undecodable = text, True
        now = self.host.clock.now()
        receipt = str(uuid.uuid4())
        message_id = self.queues.send(queue, decoded, now, delay, wire=text, undecodable=undecodable, receipt=receipt)
        self.host.wake_queue(queue)
        entry = self._entry(message_id, now, receipt=receipt, visible=now + timedelta(seconds=delay))
        return 201, {"content-type": "application/xml"}, _messages_list([entry])

    def _get(self, queue: str, query: dict[str, str]) -> tuple[int, dict, bytes]:
        limit = _int(query, "numofmessages", 1, 1, MAX_MESSAGES)
        now = self.host.clock.now()
        if query.get("peekonly", "").lower() == "true":
            # Peek shows visible messages only, as the service does.
            visible = [i for i in self.queues.peek(queue) if not i.visible_at or parse_time(i.visible_at) <= now]
            entries = [self._entry(i.id, parse_time(i.inserted), dequeue=i.dequeue_count, item=i)
                       for i in visible[:limit]]
        else:
            hidden = _int(query, "visibilitytimeout", DEFAULT_VISIBILITY, 1, 7 * 24 * 3600)
            items = self.queues.receive(queue, now, limit, hidden)
            entries = [self._entry(i.id, parse_time(i.inserted), dequeue=i.dequeue_count, item=i, receipt=i.receipt,
                                   visible=now + timedelta(seconds=hidden)) for i in items]
        return 200, {"content-type": "application/xml"}, _messages_list(entries)

    def _delete(self, queue: str, message_id: str, receipt: str) -> tuple[int, dict, bytes]:
        if self.queues.delete_leased(queue, message_id, receipt):
            return 204, {}, b""
        if any(i.id == message_id for i in self.queues.peek(queue)):
            # a receipt from before the message's latest receive (its lease ran out and it was taken again)
            raise QueueServiceError(400, "PopReceiptMismatch", "The specified pop receipt did not match the pop "
                                    "receipt for a dequeued message.")
        raise QueueServiceError(404, "MessageNotFound", "The specified message does not exist.")

    def _entry(self, message_id: str, inserted: datetime, *, dequeue: int | None = None, item: QueueItem | None = None,
               receipt: str | None = None, visible: datetime | None = None) -> dict[str, str]:
        entry = {"MessageId": message_id, "InsertionTime": _http_date(inserted),
                 "ExpirationTime": _http_date(inserted + MESSAGE_TTL)}
        if receipt is not None:
            entry["PopReceipt"] = receipt
        if visible is not None:
            entry["TimeNextVisible"] = _http_date(visible)
        if dequeue is not None:
            entry["DequeueCount"] = str(dequeue)
        if item is not None:
            entry["MessageText"] = item.wire if item.wire is not None else encode(item.body, self.encoding)
        return entry

    # ---- Shared Key (Authorize with Shared Key, Queue service 2009-09-19 and later) -------------
    def _authorize(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str],
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
        resource = f"/{ACCOUNT}{path}" + "".join(f"\n{k}:{','.join(sorted(v))}" for k, v in sorted(query.items()))
        to_sign = "\n".join([method, *fields]) + "\n" + canonical_headers + resource
        expected = base64.b64encode(hmac.new(self._key, to_sign.encode("utf-8"), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise QueueServiceError(403, "AuthenticationFailed", "Server failed to authenticate the request. "
                                    "Make sure the value of Authorization header is formed correctly including "
                                    "the signature.")


def _handler_for(service: QueueService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        timeout = 30  # a client that announces a body and sends none does not hold a thread for good

        def _answer(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            length = _content_length(headers.get("content-length"))
            if length is None:
                status, extra, payload = service.refuse(400, "InvalidHeaderValue", "The value for one of the HTTP "
                                                        "headers is not in the correct format: Content-Length.")
                self.close_connection = True
            elif length > MAX_BODY_BYTES:
                status, extra, payload = service.refuse(413, "RequestBodyTooLarge", "The request body is too "
                                                        "large and exceeds the maximum permissible limit.")
                self.close_connection = True
            else:
                status, extra, payload = service.handle(self.command, self.path, headers,
                                                        self.rfile.read(length) if length else b"")
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


def _content_length(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return 0
    return int(raw) if re.fullmatch(r"[0-9]{1,12}", raw.strip()) else None


def _check_name(queue: str) -> None:
    if not QUEUE_NAME.fullmatch(queue):
        raise QueueServiceError(400, "InvalidResourceName", "The specified resource name contains invalid characters.")


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    value = int(raw) if re.fullmatch(r"-?[0-9]{1,12}", raw) else low - 1
    if not low <= value <= high:
        raise QueueServiceError(400, "OutOfRangeQueryParameterValue",
                                f"One of the query parameters specified in the request URI is outside the "
                                f"permissible range: {name}.")
    return value


def _http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)
