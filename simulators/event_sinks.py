"""Where run events go locally: a scheduler's webhook receiver, an Event Grid topic and a storage queue.

`devhost serve --event-sinks` and `make demo` start them on loopback and configure the app's sinks as a
deployment would (`NOTIFY__<name>__*` settings): `scheduler` (a signed webhook), `grid` (an Event Grid custom
topic, the topic simulator) and, with `queue`, `queue` (the `runbridge-events` queue on the app's storage:
devhost's embedded queues or Azurite).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from devkit.clock import Clock
from simulators.event_grid import EventGridTopic
from simulators.server import SimServer
from simulators.webhook_receiver import WebhookReceiver

# Local only: a deployment keeps its webhook secret in Key Vault (a Key Vault reference in NOTIFY__<name>__secret).
LOCAL_WEBHOOK_SECRET = "whsec_ZGVtby1vbmx5LXNlY3JldC1kZW1vLW9ubHktc2VjcmV0"


@dataclass
class EventSinks:
    """The running receiver and topic, and the settings that point the app's sinks at them."""

    receiver: WebhookReceiver
    topic: EventGridTopic
    topic_server: SimServer
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def topic_endpoint(self) -> str:
        return f"{self.topic_server.url}/api/events"

    def stop(self) -> None:
        self.receiver.stop()
        self.topic_server.stop()


def start_event_sinks(clock: Clock, environ: MutableMapping[str, str], queue: bool = False,
                      secret: str = LOCAL_WEBHOOK_SECRET) -> EventSinks:
    """Start the receiver and the topic and write the sinks' settings into `environ`."""
    receiver = WebhookReceiver(secret).start()
    topic = EventGridTopic(clock)
    server = SimServer(topic)
    server.start()
    sinks = EventSinks(receiver, topic, server)
    sinks.settings = {"NOTIFY__scheduler__type": "webhook", "NOTIFY__scheduler__url": receiver.url,
                      "NOTIFY__scheduler__secret": secret, "NOTIFY__grid__type": "eventgrid",
                      "NOTIFY__grid__topicEndpoint": sinks.topic_endpoint}
    if queue:
        sinks.settings["NOTIFY__queue__type"] = "queue"
    environ.update(sinks.settings)
    return sinks
