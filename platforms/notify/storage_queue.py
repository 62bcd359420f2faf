"""Storage queue sink: each event a message on an Azure Storage queue, through the Queue service REST API.

The account comes from a storage connection setting, as the Functions host reads `AzureWebJobsStorage`:
- a connection string (`UseDevelopmentStorage=true` for Azurite, or `AccountName=...;AccountKey=...`): Shared
  Key signing;
- identity-based (`<connection>__queueServiceUri` or `<connection>__accountName`): an Entra ID token of the
  app's identity (`Storage Queue Data Message Sender` on the account).
Messages are base64 of the event's UTF-8 JSON, as the Functions queue extension writes them, so a queue
trigger reads them unchanged. A missing queue is created once, then the put is tried again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from platforms.auth import BearerToken, credential_for
from platforms.http import IN_ACTIVITY, HttpClient, PlatformError
from platforms.notify.reply import SINK_TIMEOUT, Reply, encode_event, failed

API_VERSION = "2021-12-02"
SCOPE = "https://storage.azure.com/.default"
DEV_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public, documented with the emulator)
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEV_QUEUE_ENDPOINT = f"http://127.0.0.1:10001/{DEV_ACCOUNT}"


class StorageNotConfigured(ValueError):
    """The named storage connection setting is absent or unreadable."""


class QueueAccount:
    """One storage account's Queue service: where it is and how calls are signed."""

    def __init__(self, connection: str, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        value = _setting(environ, connection)
        self.key: bytes | None = None
        self.account = ""
        if value:
            parts = _parse_connection_string(value)
            if parts.get("usedevelopmentstorage", "").lower() == "true":
                self.account, self.key, self.endpoint = DEV_ACCOUNT, base64.b64decode(DEV_KEY), DEV_QUEUE_ENDPOINT
            elif "accountname" in parts and "accountkey" in parts:
                self.account, self.key = parts["accountname"], base64.b64decode(parts["accountkey"])
                suffix = parts.get("endpointsuffix", "core.windows.net")
                self.endpoint = parts.get("queueendpoint") or \
                    f"{parts.get('defaultendpointsprotocol', 'https')}://{self.account}.queue.{suffix}"
            else:
                raise StorageNotConfigured(f"{connection}: not a storage connection string with an account key")
            self.auth = None
        else:
            uri = _setting(environ, f"{connection}__queueServiceUri")
            account = _setting(environ, f"{connection}__accountName")
            if not uri and not account:
                raise StorageNotConfigured(f"{connection}: no storage connection (set it, or "
                                           f"{connection}__queueServiceUri for the app's identity)")
            self.endpoint = uri or f"https://{account}.queue.core.windows.net"
            settings = {"clientId": _setting(environ, f"{connection}__clientId") or ""}
            token = BearerToken(credential_for({k: v for k, v in settings.items() if v}, self.endpoint), SCOPE)
            self.auth = token.headers
        self.endpoint = self.endpoint.rstrip("/")
        self.http = HttpClient(self.endpoint, auth=self.auth, retry=IN_ACTIVITY, timeout=SINK_TIMEOUT)

    def put(self, queue: str, text: str) -> None:
        """Add one message (text as given) to `queue`, creating the queue when it does not exist."""
        body = ("<QueueMessage><MessageText>" + escape(text) + "</MessageText></QueueMessage>").encode()
        try:
            self._call("POST", f"{queue}/messages", body, "put message")
        except PlatformError as exc:
            if exc.http_status != 404:
                raise
            self._call("PUT", queue, b"", "create queue", allow=(204, 409))
            self._call("POST", f"{queue}/messages", body, "put message")

    def _call(self, method: str, path: str, body: bytes, operation: str, allow: tuple[int, ...] = ()) -> None:
        headers = {"x-ms-version": API_VERSION, "x-ms-date": formatdate(usegmt=True),
                   "content-type": "application/xml"}
        if self.key is not None:
            headers["authorization"] = self._shared_key(method, path, headers, len(body))
        self.http.request(method, path, operation=operation, data=body, headers=headers, allow=allow)

    def _shared_key(self, method: str, path: str, headers: Mapping[str, str], length: int) -> str:
        # Shared Key for the Queue service (2009-09-19 and later): the canonicalized resource is
        # /<account><URI path>, so a path-style endpoint (Azurite) names the account twice.
        uri_path = urlsplit(f"{self.endpoint}/{path}").path
        canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()) if k.startswith("x-ms-"))
        to_sign = "\n".join([method, "", "", str(length) if length else "", "", headers["content-type"],
                             "", "", "", "", "", ""]) + "\n" + canonical_headers + f"/{self.account}{uri_path}"
        assert self.key is not None
        mac = hmac.new(self.key, to_sign.encode("utf-8"), hashlib.sha256).digest()
        return f"SharedKey {self.account}:{base64.b64encode(mac).decode()}"


class QueueSink:
    """Puts each event on the sink's queue, in order, stopping at the first failure."""

    def __init__(self, queue: str, account: QueueAccount) -> None:
        self.queue = queue
        self.account = account

    def send(self, events: Sequence[Mapping[str, Any]]) -> Reply:
        for index, event in enumerate(events):
            try:
                self.account.put(self.queue, base64.b64encode(encode_event(event)).decode("ascii"))
            except PlatformError as exc:
                return failed(index, exc)
        return Reply(len(events), 201 if events else None)


def _setting(environ: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in environ.items() if k.casefold() == name.casefold()), None)


def _parse_connection_string(value: str) -> dict[str, str]:
    parts = {}
    for item in value.split(";"):
        key, sep, rest = item.partition("=")
        if sep:
            parts[key.strip().casefold()] = rest.strip()
    return parts
