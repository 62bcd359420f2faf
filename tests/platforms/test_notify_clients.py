"""The sink clients over real HTTP on loopback: Standard Webhooks signatures, Event Grid batches, replies."""

from __future__ import annotations

import base64
import hashlib
import hmac

from core.sinks import Sink, SinkType
from devkit.clock import RealClock
from platforms.notify.event_grid import EventGridSink
from platforms.notify.webhook import WebhookSink, sign, verify
from simulators.event_grid import EventGridTopic
from simulators.server import SimServer
from simulators.webhook_receiver import WebhookReceiver

KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
EVENT = {"specversion": "1.0", "id": "r1:1", "source": "runbridge/Hub", "type": "runbridge.run.statusChanged",
         "subject": "runs/r1", "time": "2026-03-01T00:00:00+00:00", "datacontenttype": "application/json",
         "sequence": 1, "data": {"previousStatus": None, "status": "Starting", "run": {}}}


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body_keyed_with_the_decoded_secret():
    body = b'{"a":1}'
    expected = base64.b64encode(hmac.new(KEY, b"msg_1.1700000000." + body, hashlib.sha256).digest()).decode()
    assert sign(SECRET, "msg_1", 1700000000, body) == f"v1,{expected}"
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000", "webhook-signature": f"v1,{expected}"}
    assert verify(SECRET, headers, body, now=1700000010) is None
    assert verify(SECRET, headers, b'{"a":2}', now=1700000010) == "no signature matches"
    assert verify(SECRET, headers, body, now=1700009999) == "webhook-timestamp is too far from now"


def test_a_webhook_delivery_is_signed_and_a_refusal_is_the_reply():
    receiver = WebhookReceiver(SECRET).start()
    try:
        client = WebhookSink(Sink("hook", SinkType.WEBHOOK, {"url": receiver.url, "secret": SECRET}))
        reply = client.send([EVENT, {**EVENT, "id": "r1:2", "sequence": 2}])
        assert reply.ok and reply.delivered == 2 and reply.status == 200
        assert [d["verified"] for d in receiver.deliveries] == [None, None]
        assert [d["headers"]["webhook-id"] for d in receiver.deliveries] == ["r1:1", "r1:2"]
        receiver.down(500)
        failed = client.send([EVENT])
        assert not failed.ok and failed.delivered == 0 and failed.status == 500
    finally:
        receiver.stop()


def test_event_grid_takes_a_cloudevents_batch_with_a_bearer_token(monkeypatch):
    monkeypatch.setenv("RUNBRIDGE_LOCAL_CREDENTIAL", "1")
    topic = EventGridTopic(RealClock())
    server = SimServer(topic)
    url = server.start()
    try:
        client = EventGridSink(Sink("grid", SinkType.EVENTGRID, {"topicEndpoint": f"{url}/api/events"}))
        reply = client.send([EVENT, {**EVENT, "id": "r1:2", "sequence": 2}])
        assert reply.ok and reply.delivered == 2 and [e["id"] for e in topic.received] == ["r1:1", "r1:2"]
        assert topic.tokens == ["devhost-local-token"]
        bad = client.send([{**EVENT, "specversion": "0.3"}])
        assert not bad.ok and bad.status == 400 and "specversion" in bad.error
    finally:
        server.stop()
