"""Durable entities as the Durable extension runs them for Python 1.x: the entity_trigger batch protocol,
signals and calls from orchestrations, signals and state reads from the client and the management API,
and the case rules of entity ids (durable-functions.md §1.5-1.6, §2.4)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from azure.durable_functions import EntityId

from devhost.app_loader import load_app

from .conftest import FUNCTION_KEY, HERE, Served, close, serve

ENTITY_APP = HERE / "entity_app"


@pytest.fixture
def hosted(tmp_path) -> Iterator[Served]:
    s = serve(ENTITY_APP, str(tmp_path / "entities.sqlite"))
    try:
        yield s
    finally:
        close(s)


def read(served: Served, name: str, key: str):
    return served.run(served.client().read_entity_state(EntityId(name, key)))


def signal(served: Served, name: str, key: str, operation: str, value=None) -> None:
    served.run(served.client().signal_entity(EntityId(name, key), operation, value))


def test_an_app_declaring_entities_loads_and_indexes_them_by_lower_case_name():
    app = load_app(ENTITY_APP)
    assert set(app.entities) == {"counter", "journal"}


def test_the_state_of_an_entity_before_its_first_operation_is_a_404(hosted):
    assert read(hosted, "Counter", "fresh").entity_exists is False
    raw = requests.get(f"{hosted.base_url}/runtime/webhooks/durabletask/entities/Counter/fresh",
                       params={"code": FUNCTION_KEY}, timeout=10)
    assert raw.status_code == 404 and raw.content == b""
    page = requests.get(f"{hosted.base_url}/api/entity/Counter/fresh", timeout=10)
    assert page.status_code == 404 and page.text == "Entity not found"


def test_a_counter_takes_add_get_reset_and_delete_in_order_and_keeps_state_between_batches(hosted):
    signal(hosted, "Counter", "c1", "add", 5)
    hosted.host.wait_idle()
    signal(hosted, "Counter", "c1", "add", 2)
    hosted.host.wait_idle()
    state = read(hosted, "Counter", "c1")
    assert (state.entity_exists, state.entity_state) == (True, 7)
    signal(hosted, "Counter", "c1", "reset")
    hosted.host.wait_idle()
    assert read(hosted, "Counter", "c1").entity_state == 0
    signal(hosted, "Counter", "c1", "add", 4)
    signal(hosted, "Counter", "c1", "delete")
    hosted.host.wait_idle()
    assert read(hosted, "Counter", "c1").entity_exists is False


def test_operations_queued_together_run_in_order_and_a_failing_one_rolls_back_alone(hosted):
    hosted.host.hold()  # queue them all so they run as one batch
    for operation, value in [("add", 1), ("add_then_fail", 100), ("add", 2)]:
        signal(hosted, "Counter", "c2", operation, value)
    hosted.host.hold(False)
    hosted.host.wait_idle()
    assert read(hosted, "Counter", "c2").entity_state == 3


def test_an_orchestration_that_signals_then_calls_sees_its_signal_applied(hosted):
    instance_id = hosted.start("signal_then_call", "myCounter")
    done = hosted.wait(instance_id)
    assert (done.status, done.output) == ("Completed", 3)
    kinds = hosted.history_types(instance_id)
    assert kinds.count("EventSent") == 2 and kinds.count("EventRaised") == 1
    again = hosted.wait(hosted.start("signal_then_call", "myCounter"))
    assert again.output == 6


def test_signals_from_one_orchestration_keep_their_order(hosted):
    ids = [hosted.start("write_journal", {"key": key, "lines": 15}) for key in ("a", "b")]
    outputs = [hosted.wait(i).output for i in ids]
    assert outputs == [[f"{key}-{n}" for n in range(15)] for key in ("a", "b")]


def test_a_call_to_a_failing_operation_raises_in_the_orchestration_and_state_is_untouched(hosted):
    signal(hosted, "Counter", "c3", "add", 5)
    done = hosted.wait(hosted.start("call_failing", "c3"))
    assert done.status == "Completed"
    assert done.output == {"error": "refused after adding 10", "after": 6}


def test_a_call_to_an_entity_the_app_does_not_define_fails_the_task_naming_it(hosted):
    done = hosted.wait(hosted.start("call_missing_entity"))
    assert done.status == "Failed"
    assert "The function 'nobody' doesn't exist" in done.output


def test_entity_names_are_case_insensitive_and_keys_are_not(hosted):
    signal(hosted, "COUNTER", "Key", "add", 1)
    signal(hosted, "counter", "Key", "add", 1)
    signal(hosted, "Counter", "key", "add", 10)
    hosted.host.wait_idle()
    assert read(hosted, "cOuNtEr", "Key").entity_state == 2
    assert read(hosted, "Counter", "key").entity_state == 10
    journal = hosted.wait(hosted.start("write_journal", {"key": "J", "lines": 1})).output
    assert journal == ["J-0"] and read(hosted, "JOURNAL", "J").entity_state == ["J-0"]


def test_the_management_api_signals_reads_and_lists_entities(hosted):
    base = f"{hosted.base_url}/runtime/webhooks/durabletask/entities"
    key = {"code": FUNCTION_KEY}
    assert requests.post(f"{base}/Counter/m1", params={**key, "op": "add"}, json=41, timeout=10).status_code == 202
    assert requests.post(f"{base}/Counter/m1", params={**key, "op": "add"}, json=1, timeout=10).status_code == 202
    hosted.host.wait_idle()
    state = requests.get(f"{base}/Counter/m1", params=key, timeout=10)
    assert state.status_code == 200 and state.json() == 42
    listed = requests.get(f"{base}/counter", params={**key, "fetchState": "true"}, timeout=10).json()
    assert [(e["entityId"], e["state"]) for e in listed] == [({"name": "counter", "key": "m1"}, 42)]
    assert requests.get(f"{base}/", params=key, timeout=10).json()[0]["entityId"]["key"] == "m1"


def test_an_http_route_signals_and_reads_state_through_the_client(hosted):
    assert requests.post(f"{hosted.base_url}/api/entity/Counter/web/add", json=9, timeout=10).status_code == 202
    hosted.host.wait_idle()
    page = requests.get(f"{hosted.base_url}/api/entity/Counter/web", timeout=10)
    assert page.status_code == 200
    assert page.json() == {"entity": "Counter", "key": "web", "state": 9}


def test_entity_state_survives_a_host_restart(tmp_path):
    db = str(tmp_path / "restart.sqlite")
    first = serve(ENTITY_APP, db)
    try:
        signal(first, "Counter", "kept", "add", 8)
        first.host.wait_idle()
    finally:
        close(first)
    second = serve(ENTITY_APP, db)
    try:
        assert read(second, "Counter", "kept").entity_state == 8
        assert second.wait(second.start("signal_then_call", "kept")).output == 11
    finally:
        close(second)
