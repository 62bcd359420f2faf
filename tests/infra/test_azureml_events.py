"""The Azure ML event wiring in infra/ agrees with the app: event types, job-name prefix, function name,
retry and dead-letter, and only for connections that ask for events."""

from __future__ import annotations

from platforms.azure_ml.clone import JOB_NAME_PREFIX
from platforms.azure_ml.events import EVENT_TYPES
from starters.azureml_events import FUNCTION_NAME

from .bicep import APP, INFRA, MAIN, code_text, parse

EVENTS = INFRA / "modules" / "azureml-events.bicep"


def _subscription() -> dict:
    return parse(EVENTS)["resources"]["runEvents"]["config"]["properties"]


def test_the_system_topic_is_the_workspaces_with_an_identity_for_dead_letters():
    topic = parse(EVENTS)["resources"]["topic"]["config"]
    assert topic["properties"]["topicType"] == "Microsoft.MachineLearningServices.Workspaces"
    assert topic["identity"] == {"type": "SystemAssigned"}


def test_the_subscription_takes_the_apps_event_types_of_runbridge_jobs_only():
    props = _subscription()
    assert set(props["filter"]["includedEventTypes"]) == EVENT_TYPES
    assert props["filter"]["advancedFilters"] == [
        {"operatorType": "StringBeginsWith", "key": "data.runId", "values": ["jobNamePrefix"]}]
    main = code_text(MAIN)
    assert f"jobNamePrefix: '{JOB_NAME_PREFIX}'" in main


def test_the_subscription_delivers_to_the_apps_event_grid_function_with_retries_and_dead_letters():
    props = _subscription()
    assert props["destination"]["endpointType"] == "AzureFunction"
    assert f"functionName: '{FUNCTION_NAME}'" in code_text(MAIN)
    assert props["retryPolicy"]["maxDeliveryAttempts"] >= 10 and props["retryPolicy"]["eventTimeToLiveInMinutes"]
    dead = props["deadLetterWithResourceIdentity"]
    assert dead["identity"] == {"type": "SystemAssigned"}
    assert dead["deadLetterDestination"]["endpointType"] == "StorageBlob"
    assert "deadLetterContainer" in parse(APP)["resources"]


def test_only_connections_that_ask_for_events_are_wired():
    main = code_text(MAIN)
    assert "filter(azureMlConnections, x => (x.?events ?? '') == 'eventgrid' && (x.?wireEvents ?? true))" in main
    assert "for c in eventConnections" in main and "for (c, i) in eventConnections" in main
