"""`CONNECTIONS__<name>__events`: eventgrid on Azure ML; refused, with the reason, where no events exist."""

import pytest

from core.connections import read_connections

ML = {"CONNECTIONS__ml__type": "azure_ml", "CONNECTIONS__ml__subscriptionId": "00000000-0000-0000-0000-000000000000",
      "CONNECTIONS__ml__resourceGroup": "rg", "CONNECTIONS__ml__workspace": "ws", "CONNECTIONS__ml__region": "eastus"}


@pytest.mark.parametrize("value", ["eventgrid", "EventGrid"])
def test_azure_ml_takes_eventgrid(value):
    connections, problems = read_connections({**ML, "CONNECTIONS__ml__events": value})
    assert problems == [] and connections["ml"].settings["events"] == "eventgrid"


def test_azure_ml_refuses_another_event_source():
    _, problems = read_connections({**ML, "CONNECTIONS__ml__events": "webhook"})
    assert problems == ["CONNECTIONS__ml__events: must be eventgrid (the only event source of Azure ML runs)"]


@pytest.mark.parametrize(("settings", "platform"), [
    ({"CONNECTIONS__ag__type": "foundry_agents", "CONNECTIONS__ag__endpoint": "https://x.services.ai.azure.com/api/projects/p"},
     "Foundry Agent Service"),
    ({"CONNECTIONS__ab__type": "abacus", "CONNECTIONS__ab__apiKey": "k"}, "Abacus.AI"),
])
def test_platforms_without_run_events_refuse_the_setting_saying_why(settings, platform):
    name = next(iter(settings)).split("__")[1]
    _, problems = read_connections({**settings, f"CONNECTIONS__{name}__events": "eventgrid"})
    assert len(problems) == 1 and platform in problems[0] and "publishes no status events" in problems[0]
