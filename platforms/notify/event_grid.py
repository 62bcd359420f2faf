"""Event Grid sink: a custom topic in the CloudEvents 1.0 schema, one batch per call, Entra ID auth.

The topic takes `POST <topicEndpoint>` with `Content-Type: application/cloudevents-batch+json` and a JSON array
of events; the app's identity needs the `EventGrid Data Sender` role on the topic (infra). A batch is taken
whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from core.sinks import Sink
from platforms.auth import BearerToken, credential_for
from platforms.http import IN_ACTIVITY, HttpClient, PlatformError
from platforms.notify.reply import SINK_TIMEOUT, Reply, failed

SCOPE = "https://eventgrid.azure.net/.default"
MAX_BATCH_BYTES = 1024 * 1024  # Event Grid refuses a batch above 1 MB


class EventGridSink:
    """Publishes to one custom topic."""

    def __init__(self, sink: Sink) -> None:
        endpoint = sink.settings["topicEndpoint"]
        self.token = BearerToken(credential_for(sink.settings, endpoint), SCOPE)
        self.http = HttpClient(endpoint, auth=self.token.headers, retry=IN_ACTIVITY, timeout=SINK_TIMEOUT)

    def send(self, events: Sequence[Mapping[str, Any]]) -> Reply:
        sent = 0
        for batch in _batches(events):
            body = json.dumps(batch, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            try:
                response = self.http.request("POST", self.http.base_url, operation="publish events", data=body,
                                             headers={"content-type": "application/cloudevents-batch+json; "
                                                                      "charset=utf-8"})
            except PlatformError as exc:
                return failed(sent, exc)
            sent += len(batch)
        return Reply(sent, response.status_code if events else None)


def _batches(events: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    batches: list[list[Mapping[str, Any]]] = []
    size = 0
    for event in events:
        length = len(json.dumps(event))
        if not batches or size + length > MAX_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(event)
        size += length
    return batches
