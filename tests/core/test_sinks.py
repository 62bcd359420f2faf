"""Notification sinks from NOTIFY__ settings: keys, defaults, filters; problems never quote a value."""

from __future__ import annotations

import base64

import pytest

from core.sinks import Sink, SinkType, find_sink, read_sinks

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def test_each_type_reads_its_keys_with_defaults():
    sinks, problems = read_sinks({
        "NOTIFY__q__type": "queue",
        "NOTIFY__grid__type": "EventGrid", "NOTIFY__grid__topicEndpoint": "https://t.westeurope-1.eventgrid.azure.net/api/events",
        "NOTIFY__hook__type": "webhook", "NOTIFY__hook__url": "https://scheduler.example/hooks/runbridge",
        "NOTIFY__hook__secret": SECRET, "NOTIFY__hook__types": "runbridge.run.statusChanged",
        "NOTIFY__hook__perRequest": "true", "CONNECTIONS__x__type": "abacus"})
    assert problems == []
    assert sinks["q"] == Sink("q", SinkType.QUEUE, {"queue": "runbridge-events", "connection": "AzureWebJobsStorage"})
    assert sinks["grid"].type is SinkType.EVENTGRID and sinks["grid"].types is None
    hook = sinks["hook"]
    assert hook.per_request and hook.types == frozenset({"runbridge.run.statusChanged"})
    assert SECRET not in repr(hook) and "secret" not in hook.public_view()["settings"]
    assert find_sink(sinks, "HOOK") is hook


def test_types_and_per_request_choose_the_events_a_sink_takes():
    sink = Sink("hook", SinkType.WEBHOOK, {}, frozenset({"runbridge.run.outputsWritten"}), per_request=True)
    assert sink.takes("runbridge.run.outputsWritten", ["Hook"])
    assert not sink.takes("runbridge.run.outputsWritten", [])
    assert not sink.takes("runbridge.run.statusChanged", ["hook"])


@pytest.mark.parametrize(("settings", "problem"), [
    ({"NOTIFY__a__type": "sms"}, "NOTIFY__a__type: is not a sink type"),
    ({"NOTIFY__a__type": "webhook", "NOTIFY__a__secret": SECRET}, "NOTIFY__a__url: is missing"),
    ({"NOTIFY__a__type": "webhook", "NOTIFY__a__url": "http://scheduler.example/h", "NOTIFY__a__secret": SECRET},
     "NOTIFY__a__url: must be an absolute https URL (http only for 127.0.0.1/localhost)"),
    ({"NOTIFY__a__type": "webhook", "NOTIFY__a__url": "https://s.example/h", "NOTIFY__a__secret": "hunter2hunter2"},
     "NOTIFY__a__secret: must be a Standard Webhooks secret"),
    ({"NOTIFY__a__type": "webhook", "NOTIFY__a__url": "https://s.example/h",
      "NOTIFY__a__secret": "@Microsoft.KeyVault(SecretUri=https://v/secrets/s)"}, "unresolved Key Vault reference"),
    ({"NOTIFY__a__type": "queue", "NOTIFY__a__queue": "Bad_Name"}, "NOTIFY__a__queue: must be a storage queue name"),
    ({"NOTIFY__a__type": "queue", "NOTIFY__a__types": "run.done"}, "NOTIFY__a__types: must list event types"),
    ({"NOTIFY__a__type": "queue", "NOTIFY__a__perRequest": "yes"}, "NOTIFY__a__perRequest: must be true or false"),
    ({"NOTIFY__a__type": "queue", "NOTIFY__a__url": "https://x"}, "NOTIFY__a__url: unknown setting"),
    ({"NOTIFY____type": "queue"}, "expected NOTIFY__<name>__<setting>"),
])
def test_a_wrong_setting_is_named_and_its_value_never_quoted(settings, problem):
    sinks, problems = read_sinks(settings)
    assert sinks == {} and len(problems) == 1 and problem in problems[0], problems
    assert "hunter2" not in problems[0]


def test_an_empty_optional_setting_means_unset():
    sinks, problems = read_sinks({"NOTIFY__a__type": "queue", "NOTIFY__a__types": "", "NOTIFY__a__perRequest": ""})
    assert problems == [] and sinks["a"].types is None and not sinks["a"].per_request
