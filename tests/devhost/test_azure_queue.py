"""devhost's queue triggers on real Azure Storage queues (Azurite), as the Functions queue extension 5.x runs them.

The sample app's `queue_start` reads `work-items` (a number starts `chain`; "poison" always fails) and
reports each start on `work-items-done`. Messages are put and read with a plain azure-storage-queue client,
as another program would, so the wire format (base64) is checked, not assumed. Visibility timeouts are
Azurite's, on wall time: the host.json here makes them 1 s, so each test waits a few real seconds at most.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, QueueServiceClient

from devhost.app_loader import load_app
from devhost.azure_queues import API_VERSION, decode, encode, message_encoding
from devhost.host import DevHost
from devhost.http_server import HttpFrontDoor
from devkit.clock import VirtualClock

from .conftest import EPOCH, SAMPLE_APP, Served, close

QUEUES = {"maxDequeueCount": 3, "visibilityTimeout": "00:00:01", "maxPollingInterval": "00:00:00.5", "batchSize": 4}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def eventually(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (Azurite's timeouts run on wall time); bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout}s")


class AzureServed(Served):
    """A served sample app whose queue triggers read Azurite, plus a raw client for the same account."""

    def __init__(self, host: DevHost, front: HttpFrontDoor, connection_string: str) -> None:
        super().__init__(host, front)
        self.account = QueueServiceClient.from_connection_string(connection_string, api_version=API_VERSION)

    def begin(self) -> AzureServed:
        self.host.start()
        self.front.start()
        return self

    def raw(self, queue: str) -> QueueClient:
        """A client that neither encodes nor decodes: it sees the text on the wire."""
        client = self.account.get_queue_client(queue)
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
        return client

    def wire_texts(self, queue: str) -> list[str]:
        return [m.content for m in self.raw(queue).peek_messages(max_messages=32)]

    def deliveries(self, message_id: str) -> list[int]:
        """The dequeue counts the function saw for one message, in order."""
        return [count for mid, count, _ in self.host.app.module.DELIVERIES if mid == message_id]


@pytest.fixture
def azure_sample(azurite, tmp_path) -> Iterator[Callable[..., AzureServed]]:
    hosts: list[AzureServed] = []

    def make(start: bool = True, **queue_settings: Any) -> AzureServed:
        loaded = load_app(SAMPLE_APP)
        host_json = json.loads(json.dumps(loaded.host_json))
        host_json["extensions"]["queues"] = {**QUEUES, **queue_settings}
        app = dataclasses.replace(loaded, host_json=host_json)
        host = DevHost(db_path=str(tmp_path / f"devhost-{len(hosts)}.sqlite"), clock=VirtualClock(EPOCH), app=app,
                       storage=azurite)
        front = HttpFrontDoor(host, port=0, function_key=None)
        served = AzureServed(host, front, azurite)
        hosts.append(served)
        if start:
            served.begin()
        return served

    yield make
    for served in hosts:
        close(served)
        served.account.close()


# ---- the source and the encoding, no Azurite needed ---------------------------------------------
def test_the_queue_source_follows_the_azurewebjobsstorage_setting(tmp_path, monkeypatch):
    hosts = [DevHost(SAMPLE_APP, db_path=str(tmp_path / "a.sqlite"), clock=VirtualClock(EPOCH))]
    assert hosts[0].queues.kind == "embedded" and not hosts[0].queues.remote
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    hosts.append(DevHost(SAMPLE_APP, db_path=str(tmp_path / "b.sqlite"), clock=VirtualClock(EPOCH)))
    assert hosts[1].queues.kind == "azure-storage" and hosts[1].queues.remote
    assert hosts[1].queues.url.startswith("http://127.0.0.1:10001/devstoreaccount1")
    hosts.append(DevHost(SAMPLE_APP, db_path=str(tmp_path / "c.sqlite"), clock=VirtualClock(EPOCH), storage=None))
    assert hosts[2].queues.kind == "embedded"
    account = ("DefaultEndpointsProtocol=https;AccountName=someaccount;AccountKey="
               + base64.b64encode(b"k" * 64).decode() + ";EndpointSuffix=core.windows.net")
    hosts.append(DevHost(SAMPLE_APP, db_path=str(tmp_path / "d.sqlite"), clock=VirtualClock(EPOCH), storage=account))
    assert hosts[3].queues.url.startswith("https://someaccount.queue.core.windows.net")
    for host in hosts:
        host.stop()


def test_messages_are_base64_unless_host_json_says_none():
    assert message_encoding({}) == "base64"
    assert message_encoding({"extensions": {"queues": {"messageEncoding": "None"}}}) == "none"
    with pytest.raises(ValueError):
        message_encoding({"extensions": {"queues": {"messageEncoding": "utf16"}}})
    assert encode('{"a": "é"}', "base64") == b64('{"a": "é"}')
    assert decode(b64("5"), "base64") == "5"
    assert decode(" eyJh\nIjogMX0= ", "base64") == '{"a": 1}'  # white space is skipped, as .NET does
    for bad in ('{"a": 1}', "not base64!", base64.b64encode(b"\xff\xfe").decode()):
        with pytest.raises(ValueError):
            decode(bad, "base64")
    assert encode("plain", "none") == "plain" and decode("plain", "none") == "plain"


# ---- on Azurite -----------------------------------------------------------------------------------
def test_a_base64_message_from_another_producer_is_delivered_once_and_deleted(azure_sample):
    served = azure_sample()
    sent = served.raw("work-items").send_message(b64("5"))
    done = served.wait(f"q-{sent.id}", timeout=15)
    assert done.output == {"echo": 20}
    assert served.deliveries(sent.id) == [1]
    eventually(lambda: served.wire_texts("work-items") == [], what="message deleted")
    # the output binding wrote base64 too
    [reported] = eventually(lambda: served.wire_texts("work-items-done"), what="output message")
    assert json.loads(base64.b64decode(reported)) == {"started": f"q-{sent.id}", "n": 5}
    assert [m.body for m in served.host.queues.peek("work-items-done")] == [base64.b64decode(reported).decode()]


def test_a_failing_message_is_retried_after_the_visibility_timeout_then_poisoned(azure_sample):
    served = azure_sample()
    started = time.monotonic()
    message_id = served.host.enqueue("work-items", "poison")
    eventually(lambda: served.wire_texts("work-items-poison"), what="poison message")
    elapsed = time.monotonic() - started
    # maxDequeueCount 3: three deliveries, each retry after visibilityTimeout (1 s) on Azurite's clock
    assert served.deliveries(message_id) == [1, 2, 3]
    assert elapsed >= 1.5, elapsed
    assert served.wire_texts("work-items-poison") == [b64("poison")]  # copied as stored
    assert served.wire_texts("work-items") == []
    assert served.host.store.query(prefix="q-") == []


def test_a_message_already_dequeued_past_max_dequeue_count_goes_to_poison_unrun(azure_sample):
    served = azure_sample(start=False)
    queue = served.raw("work-items")
    sent = queue.send_message(b64("3"))
    for _ in range(3):  # three hosts took it and died while running it
        [message] = queue.receive_messages(max_messages=1, visibility_timeout=30)
        queue.update_message(message, pop_receipt=message.pop_receipt, visibility_timeout=0)
    served.begin()
    eventually(lambda: served.wire_texts("work-items-poison"), what="poison message")
    assert served.deliveries(sent.id) == []
    assert served.host.store.query(prefix="q-") == []


def test_a_message_that_is_not_base64_goes_to_poison_as_is_without_running(azure_sample):
    served = azure_sample()
    sent = served.raw("work-items").send_message('{"n": 5}')
    assert eventually(lambda: served.wire_texts("work-items-poison"), what="poison message") == ['{"n": 5}']
    assert served.deliveries(sent.id) == []
    assert served.wire_texts("work-items") == []


def test_message_encoding_none_reads_and_writes_plain_text(azure_sample):
    served = azure_sample(messageEncoding="none")
    sent = served.raw("work-items").send_message("7")
    assert served.wait(f"q-{sent.id}", timeout=15).output == {"echo": 28}
    [reported] = eventually(lambda: served.wire_texts("work-items-done"), what="output message")
    assert json.loads(reported) == {"started": f"q-{sent.id}", "n": 7}


def test_wait_idle_covers_a_message_sent_through_devhost(azure_sample):
    served = azure_sample()
    message_id = served.host.enqueue("work-items", "2")
    served.host.wait_idle(timeout=15)
    assert served.host.get(f"q-{message_id}").output == {"echo": 8}
