"""The settings the app reads are the settings the template writes.

The app side comes from the code: core/connections.py's per-type spec (every key, required or not) and
host.json's Durable storage connection name (AzureWebJobsStorage, identity-based in Azure). The template
side comes from the pycep AST of infra/modules/app.bicep (the Function App's `siteConfig.appSettings`) and
the connection types of infra/main.bicep. Renaming a key on either side fails here.
"""

from __future__ import annotations

import json
import re

import pytest

from core import sinks
from core.connections import _SPECS, SETTINGS_PREFIX, ConnectionType
from platforms.auth import LOCAL_CREDENTIAL_SETTING

from .bicep import APP, MAIN, ROOT, Setting, item_fields, parse, site_app_settings, type_members

NOTIFY_SETTING = re.compile(rf"{sinks.SETTINGS_PREFIX}__\$\{{(\w+)\.name\}}__(\w+)")
CONNECTION_SETTING = re.compile(rf"{SETTINGS_PREFIX}__\$\{{(\w+)\.name\}}__(\w+)")
# The template parameter (and main.bicep type) per connection type.
PARAMETER_FOR_TYPE = {
    ConnectionType.AZURE_ML: ("azureMlConnections", "azureMlConnection"),
    ConnectionType.FOUNDRY_AGENTS: ("foundryAgentsConnections", "foundryAgentsConnection"),
    ConnectionType.ABACUS: ("abacusConnections", "abacusConnection"),
}
# Keys whose value the template supplies itself rather than copying from the connection object.
SUPPLIED = {"type", "clientId", "apiKey"}
# Settings for the Functions platform itself (not read by the app's code).
PLATFORM_SETTINGS = {"APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"}
# Never in a Flex Consumption app built by this template.
FORBIDDEN = {
    LOCAL_CREDENTIAL_SETTING,  # a made-up token for simulators: devhost and local runs only
    "AzureWebJobsStorage",  # a connection string; the host uses its identity (AzureWebJobsStorage__*)
    "FUNCTIONS_WORKER_RUNTIME",  # Flex takes the runtime from functionAppConfig and refuses these
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "APPINSIGHTS_INSTRUMENTATIONKEY",
}


@pytest.fixture(scope="module")
def settings() -> list[Setting]:
    return site_app_settings(parse(APP))


def _host_storage_connection() -> str:
    provider = json.loads((ROOT / "host.json").read_text())["extensions"]["durableTask"]["storageProvider"]
    return provider.get("connectionName") or provider.get("connectionStringName") or "AzureWebJobsStorage"


def _per_type(settings: list[Setting]) -> dict[ConnectionType, dict[str, Setting]]:
    """Connection settings grouped by the connection type their loop writes as `__type`."""
    loops: dict[str, dict[str, Setting]] = {}
    for setting in settings:
        match = CONNECTION_SETTING.fullmatch(setting.name)
        if match is None:
            continue
        assert setting.loop_array and match.group(1) == setting.loop_item, (
            f"{setting.name}: a connection setting is written inside the for-expression over the connections")
        keys = loops.setdefault(setting.loop_array, {})
        assert match.group(2) not in keys, f"{setting.name} is written twice"
        keys[match.group(2)] = setting
    grouped: dict[ConnectionType, dict[str, Setting]] = {}
    for array, keys in loops.items():
        assert "type" in keys, f"the settings written for {array} have no __type"
        kind = ConnectionType(keys["type"].value)
        assert PARAMETER_FOR_TYPE[kind][0] == array, f"{array} writes connections of type {kind}"
        grouped[kind] = keys
    return grouped


@pytest.mark.parametrize("kind", list(ConnectionType), ids=str)
def test_the_template_writes_every_key_the_app_reads_for_each_type_and_no_other(settings, kind):
    written = _per_type(settings).get(kind)
    assert written is not None, f"the template writes no {kind} connections"
    expected = {"type", *_SPECS[kind]}
    assert set(written) == expected, (
        f"{kind}: template-only keys {sorted(set(written) - expected)}, "
        f"app-only keys {sorted(expected - set(written))}")


@pytest.mark.parametrize("kind", list(ConnectionType), ids=str)
def test_each_copied_key_reads_the_same_member_of_the_template_parameter(settings, kind):
    """`CONNECTIONS__<name>__region` is `c.region`; and that member exists in main.bicep's type, required
    there exactly when the app requires it."""
    parameter, type_name = PARAMETER_FOR_TYPE[kind]
    members = type_members(MAIN, type_name)
    assert parse(MAIN)["parameters"][parameter]["type"] == {"type": "array", "item_type": type_name}
    assert "name" in members and not members["name"], f"{type_name}.name must be required"
    for key, setting in _per_type(settings)[kind].items():
        if key in SUPPLIED:
            continue
        assert item_fields(setting.value, setting.loop_item or "") == {key}, f"{setting.name} must copy {key}"
        assert key in members, f"main.bicep's {type_name} has no member {key}"
        assert members[key] == (not _SPECS[kind][key].required), (
            f"{type_name}.{key} is {'optional' if members[key] else 'required'} in the template but "
            f"{'required' if _SPECS[kind][key].required else 'optional'} in core/connections.py")


def test_platform_connections_use_the_apps_managed_identity(settings):
    storage_client = next(s for s in settings if s.name == f"{_host_storage_connection()}__clientId")
    assert storage_client.value == "identityClientId"
    for kind in (ConnectionType.AZURE_ML, ConnectionType.FOUNDRY_AGENTS):
        assert _per_type(settings)[kind]["clientId"].value == "identityClientId", kind


def test_the_abacus_key_is_a_key_vault_reference(settings):
    value = _per_type(settings)[ConnectionType.ABACUS]["apiKey"].value
    assert isinstance(value, str)
    assert re.fullmatch(r"@Microsoft\.KeyVault\(SecretUri=\$\{keyVaultUri\}/secrets/\$\{\w+\(c\)\}\)", value), value


def test_host_storage_is_identity_based(settings):
    connection = _host_storage_connection()
    written = {s.name: s.value for s in settings}
    for key in ("accountName", "credential", "clientId"):
        assert f"{connection}__{key}" in written, f"{connection}__{key} is not written"
    assert str(written[f"{connection}__credential"]).lower() == "managedidentity"
    assert connection not in written, f"{connection} (a connection string) must not be written"


def test_no_forbidden_or_unexplained_setting_is_written(settings):
    connection = _host_storage_connection()
    written = [(s.loop_array, s.name) for s in settings]
    assert len(written) == len(set(written)), "a setting is written twice"
    for _, name in written:
        assert name not in FORBIDDEN, f"the template writes {name}"
        known = (CONNECTION_SETTING.fullmatch(name) or name.startswith(f"{connection}__")
                 or name in PLATFORM_SETTINGS or NOTIFY_SETTING.fullmatch(name))
        assert known, f"{name}: neither read by the app nor a platform setting; add it to the app or drop it"


def test_the_event_grid_sinks_get_every_key_the_app_reads_for_an_eventgrid_sink_and_no_other(settings):
    written = {m.group(2): s for s in settings if (m := NOTIFY_SETTING.fullmatch(s.name))}
    assert written["type"].value == "eventgrid"
    readable = set(sinks._SPECS[sinks.SinkType.EVENTGRID]) | set(sinks._COMMON)
    assert set(written) - {"type"} <= readable, set(written) - readable
    assert {"topicEndpoint", "clientId", "types", "perRequest"} <= set(written)
    members = set(type_members(MAIN, "eventGridSink"))
    for key, setting in written.items():
        if key not in ("type", "clientId"):
            assert item_fields(setting.value, setting.loop_item) <= members, key
