"""Runs started and cancelled through the `runbridge-runs` queue, end to end.

Each test runs twice: on devhost's embedded queue, and on a real Azure Storage queue (Azurite), where the
messages travel base64-encoded as under the Functions host. Without Node/Azurite the second variant is
skipped with the reason. Remote jobs run on the virtual clock; only Azurite's message leases and polling
take (a little) wall time.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests

from core.run_request import derive_run_id
from starters.queue_starter import REJECTED_QUEUE, RUNS_QUEUE

from .conftest import Stack, train_request


@pytest.fixture(params=["embedded", "azurite"])
def queue_stack(request, monkeypatch) -> Stack:
    """The e2e stack with its queue triggers on the embedded queue or on Azurite (AzureWebJobsStorage)."""
    if request.param == "azurite":
        monkeypatch.setenv("AzureWebJobsStorage", request.getfixturevalue("azurite"))
    stack = request.getfixturevalue("stack")
    assert stack.host.queues.kind == ("azure-storage" if request.param == "azurite" else "embedded")
    return stack


def send(stack: Stack, body: Any) -> str:
    """Put a message on runbridge-runs as a producer would; return the message id."""
    return stack.host.enqueue(RUNS_QUEUE, body if isinstance(body, str) else json.dumps(body))


def rejections(stack: Stack) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in stack.host.queues.peek(REJECTED_QUEUE)]


def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout}s")


def wait_run(stack: Stack, run_id: str) -> dict[str, Any]:
    eventually(lambda: stack.host.get(run_id), what=f"run {run_id} started")
    return stack.wait_run(run_id)


def test_a_run_request_on_the_queue_runs_to_success(queue_stack):
    send(queue_stack, train_request("queued-ok"))
    run = wait_run(queue_stack, "queued-ok")
    assert run["status"] == "Success" and run["outputs"]["model_uri"].startswith("azureml://")
    queue_stack.host.wait_idle()
    assert queue_stack.host.queues.peek(RUNS_QUEUE) == []
    assert rejections(queue_stack) == []
    stats = queue_stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1 and stats["runningNow"] == 0


def test_a_redelivered_message_without_run_id_makes_one_run(queue_stack):
    """The host dies after the start but before deleting the message: it comes back, and finds its run."""
    host = queue_stack.host
    host.triggers.lease_seconds = 1  # the lease ends soon after the lost delete (embedded: virtual seconds)
    deletes: list[str] = []
    lock = threading.Lock()
    real_delete = host.queues.delete

    def lose_the_first_delete(item):
        with lock:
            deletes.append(item.id)
            if len(deletes) == 1:
                return
        real_delete(item)

    host.queues.delete = lose_the_first_delete  # type: ignore[method-assign]
    body = train_request("ignored")
    body.pop("runId")
    message_id = send(queue_stack, body)
    run_id = derive_run_id(message_id)
    assert wait_run(queue_stack, run_id)["status"] == "Success"
    eventually(lambda: len(deletes) >= 2, what="the redelivery")
    assert deletes == [message_id, message_id]
    host.wait_idle()
    assert host.queues.peek(RUNS_QUEUE) == [] and rejections(queue_stack) == []
    assert [r.id for r in host.store.query(limit=10)] == [run_id]
    assert queue_stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1


def test_the_same_request_sent_twice_makes_one_run(queue_stack):
    send(queue_stack, train_request("queued-twice"))
    send(queue_stack, train_request("queued-twice"))
    assert wait_run(queue_stack, "queued-twice")["status"] == "Success"
    queue_stack.host.wait_idle()
    assert queue_stack.host.queues.peek(RUNS_QUEUE) == [] and rejections(queue_stack) == []
    assert queue_stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1


def test_invalid_messages_are_rejected_once_naming_the_field_and_create_nothing(queue_stack):
    bad_direction = train_request("bad-2")
    bad_direction["parameters"][0]["direction"] = "Sideways"
    cases = {
        send(queue_stack, {**train_request("bad-1"), "jobType": None}): "jobType",
        send(queue_stack, bad_direction): "parameters[0].direction",
        send(queue_stack, train_request("bad-3", job="no-such-template")): "job",
        send(queue_stack, {**train_request("bad-4"), "apiKey": "secret"}): "apiKey",
        send(queue_stack, "{not json"): "$",
        send(queue_stack, "[1, 2]"): "$",
        send(queue_stack, {"cancel": "../x"}): "cancel",
        send(queue_stack, {"cancel": "queued-ok", "reason": "x"}): "reason",
    }
    found = eventually(lambda: len(rejections(queue_stack)) >= len(cases) and rejections(queue_stack),
                       what="all rejections")
    queue_stack.host.wait_idle()
    assert {r["messageId"]: r["error"]["field"] for r in found} == cases
    for rejection in found:
        assert rejection["error"]["code"] in ("InvalidRequest", "NotFound") and rejection["error"]["message"]
        assert rejection["dequeueCount"] == 1  # not retried
        assert isinstance(rejection["body"], str)
    assert json.loads(next(r for r in found if r["error"]["field"] == "job")["body"])["runId"] == "bad-3"
    assert len(rejections(queue_stack)) == len(cases)
    assert queue_stack.host.queues.peek(RUNS_QUEUE) == []
    assert queue_stack.host.queues.peek(f"{RUNS_QUEUE}-poison") == []
    assert queue_stack.host.store.query(limit=10) == []
    assert queue_stack.sim_stats("azure_ml")["remoteJobsCreated"] == 0


def test_a_run_id_taken_by_another_request_is_rejected_as_a_conflict(queue_stack):
    assert queue_stack.post_run(train_request("taken-1")).status_code == 202
    message_id = send(queue_stack, train_request("taken-1", job="failing-pipeline", parameters=[]))
    [rejection] = eventually(lambda: rejections(queue_stack), what="the rejection")
    assert rejection["messageId"] == message_id
    assert (rejection["error"]["code"], rejection["error"]["field"]) == ("Conflict", "runId")
    assert queue_stack.wait_run("taken-1")["status"] == "Success"
    assert queue_stack.sim_stats("azure_ml")["remoteJobsCreated"] == 1


def test_a_refused_key_and_a_chains_id_are_rejected_with_what_to_fix(stack, monkeypatch):
    monkeypatch.setenv("CONNECTIONS__abacus-bad__type", "abacus")
    monkeypatch.setenv("CONNECTIONS__abacus-bad__endpoint", stack.sim("abacus"))
    monkeypatch.setenv("CONNECTIONS__abacus-bad__apiKey", "wrong-queue-key")
    send(stack, {"jobType": "abacus_pipeline", "connection": "abacus-bad", "job": "simtrain01", "runId": "q-key",
                 "parameters": [{"name": "epochs", "value": "3", "direction": "Input"}]})
    [refused] = eventually(lambda: rejections(stack), what="the rejection")
    assert refused["error"]["code"] == "AuthenticationFailed" and refused["error"]["connection"] == "abacus-bad"
    assert "CONNECTIONS__abacus-bad__apiKey" in refused["error"]["hint"] and "wrong-queue-key" not in str(refused)
    step = {"name": "only", "jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "train-pipeline"}
    assert requests.post(f"{stack.api}/chains", json={"chainId": "q-chain", "steps": [step]},
                         timeout=30).status_code == 202
    send(stack, train_request("q-chain-only"))
    conflict = eventually(lambda: rejections(stack)[1:], what="the second rejection")[0]
    assert (conflict["error"]["code"], conflict["error"]["field"]) == ("Conflict", "runId")
    assert stack.host.get("q-key") is None


def test_a_cancel_message_cancels_a_running_run(queue_stack):
    queue_stack.pause_at(timedelta(minutes=8))  # train-pipeline runs from minute 2 to 22
    send(queue_stack, train_request("queued-cancel"))
    eventually(lambda: queue_stack.host.get("queued-cancel"), what="run started")
    queue_stack.host.wait_idle()
    assert queue_stack.get_run("queued-cancel")["status"] == "Running"
    send(queue_stack, {"cancel": "queued-cancel"})
    queue_stack.host.wait_idle()  # the cancel is taken before time runs on
    queue_stack.resume()
    run = queue_stack.wait_run("queued-cancel")
    assert run["status"] == "Cancelled" and run["remoteStatus"] == "Canceled"
    stats = queue_stack.sim_stats("azure_ml")
    assert stats["remoteJobsCreated"] == 1 and stats["runningNow"] == 0 and stats["cancelsRequested"] == 1


def test_a_cancel_for_an_unknown_or_ended_run_is_dropped(queue_stack):
    send(queue_stack, train_request("ended-1"))
    assert wait_run(queue_stack, "ended-1")["status"] == "Success"
    send(queue_stack, {"cancel": "ended-1"})
    send(queue_stack, {"cancel": "no-such-run"})
    queue_stack.host.wait_idle()
    assert queue_stack.host.queues.peek(RUNS_QUEUE) == []
    assert rejections(queue_stack) == []
    assert queue_stack.host.queues.peek(f"{RUNS_QUEUE}-poison") == []
    assert queue_stack.get_run("ended-1")["status"] == "Success"
    assert queue_stack.sim_stats("azure_ml")["cancelsRequested"] == 0


def test_a_rejection_fits_one_queue_message_however_long_the_body():
    """Base64 makes 4 bytes of 3: the rejection stays under 48 KiB so its base64 fits Azure's 64 KiB."""
    from azure.functions.queue import QueueMessage  # what the Python worker passes a queue trigger

    from core.errors import ValidationError
    from starters.queue_starter import MAX_REJECTED_BYTES, rejection

    body = '{"job": "' + "\u00e9\u0001" * 30_000 + '"}'  # escapes and multi-byte characters grow in JSON
    message = QueueMessage(id="m-1", body=body.encode(), dequeue_count=1)
    text = rejection(message, ValidationError("job", "must be at most 256 characters"))
    assert len(text.encode()) <= MAX_REJECTED_BYTES and len(base64.b64encode(text.encode())) <= 64 * 1024
    shape = json.loads(text)
    assert shape["bodyTruncated"] is True and body.startswith(shape["body"]) and shape["body"]
    assert shape["error"] == {"code": "InvalidRequest", "message": "job: must be at most 256 characters",
                              "field": "job"}
    short = json.loads(rejection(QueueMessage(id="m-2", body=b"{}", dequeue_count=2),
                                 ValidationError("jobType", "is required")))
    assert short == {"error": {"code": "InvalidRequest", "message": "jobType: is required", "field": "jobType"},
                     "body": "{}", "messageId": "m-2", "dequeueCount": 2, "insertedAt": None}
