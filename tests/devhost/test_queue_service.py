"""The embedded queues on the Queue service REST API: the app's own storage writes reach the host's queues.

Checked with the azure-storage-queue SDK (a client we did not write) and with the app's own Queue service
client (platforms/notify/storage_queue.py), against the wire the service defines: Shared Key signatures,
`QueueNotFound`, `AuthenticationFailed`, base64 message text.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from devhost.azure_queues import API_VERSION
from devhost.queue_service import ACCOUNT, QueueService
from platforms.http import PlatformError
from platforms.notify.storage_queue import QueueAccount

from .conftest import SAMPLE_APP, close, serve


@pytest.fixture
def service(tmp_path) -> Iterator[tuple[QueueService, object]]:
    served = serve(SAMPLE_APP, str(tmp_path / "devhost.sqlite"))
    queue_service = QueueService(served.host).start()
    try:
        yield queue_service, served
    finally:
        queue_service.stop()
        close(served)


def sdk(service: QueueService, queue: str, connection: str | None = None) -> QueueClient:
    # base64 text, as the Functions queue extension writes and reads it (host.json messageEncoding default)
    return QueueClient.from_connection_string(connection or service.connection_string, queue, api_version=API_VERSION,
                                              message_encode_policy=TextBase64EncodePolicy(),
                                              message_decode_policy=TextBase64DecodePolicy())


def test_the_storage_sdk_creates_sends_peeks_receives_and_deletes(service):
    queue_service, served = service
    client = sdk(queue_service, "scheduler-events")
    client.create_queue()
    client.send_message("first")
    client.send_message("second")
    assert [m.content for m in client.peek_messages(max_messages=32)] == ["first", "second"]
    assert client.get_queue_properties().approximate_message_count == 2
    assert [i.body for i in served.host.queues.peek("scheduler-events")] == ["first", "second"]  # stored decoded
    received = next(iter(client.receive_messages(messages_per_page=1, visibility_timeout=60)))
    assert received.content == "first" and received.dequeue_count == 1
    client.delete_message(received)
    assert [i.body for i in served.host.queues.peek("scheduler-events")] == ["second"]


def test_a_message_the_app_writes_reaches_the_hosts_queue_trigger(service):
    queue_service, served = service
    account = QueueAccount("AzureWebJobsStorage", {"AzureWebJobsStorage": queue_service.connection_string})
    account.put("work-items", base64.b64encode(b"5").decode())  # the trigger's queue exists from the start
    served.host.wait_idle()
    started = [i.body for i in served.host.queues.peek("work-items-done")]
    assert len(started) == 1 and '"n": 5' in started[0]


def test_a_missing_queue_is_a_404_queue_not_found_then_created_once(service):
    queue_service, served = service
    client = sdk(queue_service, "not-yet")
    with pytest.raises(ResourceNotFoundError) as missing:
        client.send_message("x")
    assert missing.value.error_code == "QueueNotFound"
    # the app's client creates the queue on that answer and puts the message again
    account = QueueAccount("AzureWebJobsStorage", {"AzureWebJobsStorage": queue_service.connection_string})
    account.put("not-yet", base64.b64encode(b"hello").decode())
    assert [i.body for i in served.host.queues.peek("not-yet")] == ["hello"]


def test_a_request_signed_with_another_key_is_a_403_authentication_failed(service):
    queue_service, _ = service
    wrong = queue_service.connection_string.replace("AccountKey=Eby8", "AccountKey=Abc8")
    with pytest.raises(ClientAuthenticationError) as refused:
        sdk(queue_service, "work-items", wrong).send_message("x")
    assert refused.value.error_code == "AuthenticationFailed"
    unsigned = requests.post(f"{queue_service.endpoint}/work-items/messages", timeout=5,
                             data="<QueueMessage><MessageText>eA==</MessageText></QueueMessage>")
    assert unsigned.status_code == 403 and unsigned.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert "<Code>AuthenticationFailed</Code>" in unsigned.text


def test_the_endpoint_is_path_style_for_the_development_account(service):
    queue_service, _ = service
    assert queue_service.endpoint.startswith("http://127.0.0.1:") and queue_service.endpoint.endswith(f"/{ACCOUNT}")
    assert f"QueueEndpoint={queue_service.endpoint};" in queue_service.connection_string


def test_a_message_over_64_kib_is_refused_as_the_service_refuses_it(service):
    queue_service, _ = service
    account = QueueAccount("AzureWebJobsStorage", {"AzureWebJobsStorage": queue_service.connection_string})
    account.put("work-items", "MQ==")  # fits
    with pytest.raises(PlatformError) as refused:
        account.put("work-items", "A" * (64 * 1024 + 4))
    assert refused.value.http_status == 413


def raw(queue_service: QueueService, method: str, path: str, body: bytes = b"") -> requests.Response:
    """A request Shared-Key signed per the service's rules (string to sign: verb, the standard headers,
    x-ms- headers, /account/path and each query parameter), sent as it is."""
    import hashlib
    import hmac
    from urllib.parse import parse_qsl, urlsplit

    from devhost.queue_service import ACCOUNT_KEY

    url = urlsplit(f"{queue_service.endpoint}{path}")
    headers = {"x-ms-date": "Fri, 04 Dec 2026 20:00:00 GMT", "x-ms-version": API_VERSION}
    query = sorted((k.lower(), v) for k, v in parse_qsl(url.query, keep_blank_values=True))
    to_sign = "\n".join([method, "", "", str(len(body)) if body else "", "", "", "", "", "", "", "", ""]) + "\n" + \
        "".join(f"{k}:{v}\n" for k, v in sorted(headers.items())) + f"/{ACCOUNT}{url.path}" + \
        "".join(f"\n{k}:{v}" for k, v in query)
    signature = base64.b64encode(hmac.new(base64.b64decode(ACCOUNT_KEY), to_sign.encode(), hashlib.sha256).digest())
    headers["authorization"] = f"SharedKey {ACCOUNT}:{signature.decode()}"
    return requests.request(method, url.geturl(), data=body or None, headers=headers, timeout=5)


def test_text_not_in_the_queues_encoding_never_reaches_the_function_and_goes_to_poison(service):
    queue_service, served = service
    plain = QueueClient.from_connection_string(queue_service.connection_string, "work-items", api_version=API_VERSION)
    plain.send_message("5")  # not base64: the queue extension cannot decode it
    served.host.wait_idle()
    assert served.host.queues.peek("work-items-done") == []  # the function never ran
    assert [i.wire for i in served.host.queues.peek("work-items-poison")] == ["5"]


def test_a_reader_gets_back_exactly_the_text_that_was_written(service):
    queue_service, _ = service
    plain = QueueClient.from_connection_string(queue_service.connection_string, "exact", api_version=API_VERSION)
    plain.create_queue()
    for text in ("hello world", "aGk", "aGk=", "<&>]]>é🙂"):
        plain.send_message(text)
    assert [m.content for m in plain.peek_messages(max_messages=32)] == ["hello world", "aGk", "aGk=", "<&>]]>é🙂"]


def test_each_receive_gives_a_new_pop_receipt_and_an_old_one_no_longer_deletes(service):
    queue_service, served = service
    client = sdk(queue_service, "leases")
    client.create_queue()
    client.send_message("one")
    first = next(iter(client.receive_messages(messages_per_page=1, visibility_timeout=30)))
    assert list(client.peek_messages()) == []  # peek shows visible messages only
    served.clock.advance(31)  # the lease runs out; the message is taken again
    second = next(iter(client.receive_messages(messages_per_page=1, visibility_timeout=30)))
    assert second.id == first.id and second.pop_receipt != first.pop_receipt and second.dequeue_count == 2
    with pytest.raises(HttpResponseError) as stale:
        client.delete_message(first)
    assert stale.value.status_code == 400 and stale.value.error_code == "PopReceiptMismatch"
    client.delete_message(second)
    assert client.get_queue_properties().approximate_message_count == 0  # an empty queue still exists


def test_malformed_requests_get_a_clean_error_answer(service):
    queue_service, _ = service
    assert raw(queue_service, "PUT", "/never-created?comp=metadata").status_code == 501  # not a create
    assert raw(queue_service, "GET", "/never-created?comp=metadata").status_code == 404
    assert raw(queue_service, "PUT", "/Upper-Case").headers["x-ms-error-code"] == "InvalidResourceName"
    wrong_root = raw(queue_service, "POST", "/work-items/messages", b"<Foo><MessageText>eA==</MessageText></Foo>")
    assert wrong_root.headers["x-ms-error-code"] == "InvalidXmlDocument"
    assert raw(queue_service, "GET", "/work-items/messages?numofmessages=1_0").status_code == 400
    host, port = queue_service.endpoint.split("//")[1].split("/")[0].split(":")
    for header in ("Content-Length: -5", "Content-Length: abc", "Content-Length: 1000000000000",
                   "Authorization: SharedKey devstoreaccount1:\u00e9\u00e9"):
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            connection.sendall(f"PUT /{ACCOUNT}/work-items HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n".encode())
            status_line = connection.recv(200).split(b"\r\n")[0]
        assert status_line.split()[1] in (b"400", b"403", b"413"), (header, status_line)
