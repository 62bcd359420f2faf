import pytest

from core.connections import (
    CONNECTION_TYPE_FOR_JOB_TYPE,
    JOB_TYPES,
    Connection,
    ConnectionSettingsError,
    ConnectionType,
    find_connection,
    is_secret_setting,
    load_connections,
    read_connections,
)

SUB = "00000000-0000-0000-0000-000000000000"
SECRET = "s3cr3t-abacus-key-value"
ENV = {
    "PATH": "/usr/bin",
    "CONNECTIONS__ml-prod__type": "azure_ml",
    "CONNECTIONS__ml-prod__subscriptionId": SUB,
    "CONNECTIONS__ml-prod__resourceGroup": "sim-rg",
    "CONNECTIONS__ml-prod__workspace": "sim-ws",
    "CONNECTIONS__ml-prod__region": "EastUS",
    "CONNECTIONS__foundry-sim__type": "foundry_agents",
    "CONNECTIONS__foundry-sim__endpoint": "http://127.0.0.1:7102/api/projects/sim-project/",
    "CONNECTIONS__abacus-sim__type": "abacus",
    "CONNECTIONS__abacus-sim__apiKey": SECRET,
}


def test_loads_each_type_with_canonical_keys_and_defaults():
    connections = load_connections(ENV)
    assert sorted(connections) == ["abacus-sim", "foundry-sim", "ml-prod"]
    ml = connections["ml-prod"]
    assert ml.type is ConnectionType.AZURE_ML
    assert dict(ml.settings) == {
        "subscriptionId": SUB,
        "resourceGroup": "sim-rg",
        "workspace": "sim-ws",
        "region": "eastus",
        "armEndpoint": "https://management.azure.com",
        "historyEndpoint": "https://eastus.api.azureml.ms",
    }
    assert connections["foundry-sim"].settings["endpoint"] == "http://127.0.0.1:7102/api/projects/sim-project"
    assert dict(connections["abacus-sim"].settings) == {"apiKey": SECRET, "endpoint": "https://api.abacus.ai"}


def test_setting_keys_and_prefix_are_case_insensitive_and_name_keeps_the_type_spelling():
    env = {
        "connections__Abacus-Dev__apikey": SECRET,
        "CONNECTIONS__abacus-dev__TYPE": "ABACUS",
        "CONNECTIONS__ABACUS-DEV__Endpoint": "https://abacus.example.com",
    }
    connections = load_connections(env)
    assert list(connections) == ["abacus-dev"]
    assert dict(connections["abacus-dev"].settings) == {"apiKey": SECRET, "endpoint": "https://abacus.example.com"}
    assert find_connection(connections, "ABACUS-dev") is connections["abacus-dev"]
    assert find_connection(connections, "other") is None


def test_secrets_stay_out_of_repr_str_and_public_view():
    connection = load_connections(ENV)["abacus-sim"]
    assert SECRET not in repr(connection)
    assert SECRET not in str(connection)
    assert "'apiKey': '***'" in repr(connection)
    assert connection.public_view() == {
        "name": "abacus-sim",
        "type": "abacus",
        "settings": {"endpoint": "https://api.abacus.ai"},
    }


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("apiKey", True),
        ("clientSecret", True),
        ("accessToken", True),
        ("password", True),
        ("storageConnectionString", True),
        ("clientId", False),
        ("endpoint", False),
        ("tenantId", False),
    ],
)
def test_secret_setting_names(key, secret):
    assert is_secret_setting(key) is secret


def _problems(env):
    connections, problems = read_connections(env)
    return connections, problems


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("CONNECTIONS__ml-prod__workspace", "CONNECTIONS__ml-prod__workspace: is missing (required for azure_ml)"),
        ("CONNECTIONS__abacus-sim__apiKey", "CONNECTIONS__abacus-sim__apiKey: is missing (required for abacus)"),
        ("CONNECTIONS__foundry-sim__endpoint", "CONNECTIONS__foundry-sim__endpoint: is missing"),
        ("CONNECTIONS__ml-prod__type", "CONNECTIONS__ml-prod__type: is missing; expected one of"),
    ],
)
def test_a_missing_setting_is_named_and_only_its_connection_is_dropped(drop, named):
    env = {k: v for k, v in ENV.items() if k != drop}
    connections, problems = _problems(env)
    assert len(problems) == 1 and problems[0].startswith(named)
    assert len(connections) == 2
    with pytest.raises(ConnectionSettingsError) as caught:
        load_connections(env)
    assert caught.value.problems == problems
    assert named in str(caught.value)


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("CONNECTIONS__ml-prod__type", "azureml", "is not a connection type"),
        ("CONNECTIONS__ml-prod__subscriptionId", "not-a-guid", "must be a GUID"),
        ("CONNECTIONS__ml-prod__region", "east us/evil", "must be an Azure region name"),
        ("CONNECTIONS__ml-prod__workspace", "ws/../x", "must be a resource name"),
        ("CONNECTIONS__ml-prod__workspace", "", "is empty (required for azure_ml)"),
        ("CONNECTIONS__ml-prod__armEndpoint", "http://management.example.com", "https"),
        ("CONNECTIONS__ml-prod__armEndpoint", "https://user:pw@management.azure.com", "without credentials"),
        ("CONNECTIONS__ml-prod__armEndpoint", "https://management.azure.com/?x=1", "without credentials"),
        ("CONNECTIONS__ml-prod__armEndpoint", "https://host:99999", "absolute https URL"),
        ("CONNECTIONS__ml-prod__workpsace", "sim-ws", "unknown setting for azure_ml"),
        ("CONNECTIONS__ml-prod__apiKey", SECRET, "unknown setting for azure_ml"),
        ("CONNECTIONS__ml-prod__WORKSPACE", "other", "set twice"),
        ("CONNECTIONS__abacus-sim__apiKey", "@Microsoft.KeyVault(SecretUri=https://v/secrets/k)", "Key Vault"),
        ("CONNECTIONS__abacus-sim__apiKey", "a b", "spaces or control"),
        ("CONNECTIONS__foundry-sim__projectResourceId", "rg/x", "ARM resource id"),
        ("CONNECTIONS__foundry-sim__apiKey", SECRET, "accepts only Microsoft Entra ID tokens, never an API key"),
        ("CONNECTIONS__bad name__type", "abacus", "expected CONNECTIONS__<name>__<setting>"),
        ("CONNECTIONS__x__y__z", "v@lue", "expected CONNECTIONS__<name>__<setting>"),
    ],
)
def test_a_bad_setting_is_named_with_a_reason_but_never_its_value(setting, value, reason):
    env = {**ENV, setting: value}
    _, problems = _problems(env)
    assert any(p.startswith(f"{setting}: ") and reason in p for p in problems), problems
    assert all(value not in p for p in problems if value)


def test_optional_settings_are_checked_and_kept():
    env = {
        **ENV,
        "CONNECTIONS__ml-prod__tenantId": "contoso.onmicrosoft.com",
        "CONNECTIONS__ml-prod__clientId": SUB,
        "CONNECTIONS__ml-prod__historyEndpoint": "http://localhost:7101",
        "CONNECTIONS__foundry-sim__apiVersion": "v1",
        "CONNECTIONS__foundry-sim__projectResourceId": f"/subscriptions/{SUB}/resourceGroups/rg",
        "CONNECTIONS__abacus-sim__endpoint": " ",  # blank optional → default
    }
    connections = load_connections(env)
    assert connections["ml-prod"].settings["historyEndpoint"] == "http://localhost:7101"
    assert connections["ml-prod"].settings["tenantId"] == "contoso.onmicrosoft.com"
    assert connections["foundry-sim"].settings["apiVersion"] == "v1"
    assert connections["abacus-sim"].settings["endpoint"] == "https://api.abacus.ai"


def test_no_connection_settings_means_no_connections():
    assert read_connections({"PATH": "/bin", "CONNECTIONSX__a__type": "abacus"}) == ({}, [])


def test_connection_is_immutable_and_hashable():
    connection = Connection("c", ConnectionType.ABACUS, {"apiKey": "k"})
    with pytest.raises(TypeError):
        connection.settings["apiKey"] = "other"  # type: ignore[index]
    assert hash(connection) == hash(Connection("c", ConnectionType.ABACUS, {"apiKey": "other"}))


def test_each_job_type_is_served_by_one_connection_type():
    assert {"azureml_pipeline", "foundry_agent", "abacus_pipeline"} == JOB_TYPES
    assert set(CONNECTION_TYPE_FOR_JOB_TYPE.values()) == set(ConnectionType)
    ml = Connection("ml", ConnectionType.AZURE_ML)
    assert ml.serves("azureml_pipeline")
    assert not ml.serves("abacus_pipeline") and not ml.serves("nope")


def test_a_runs_coordinates_say_where_jobs_live_and_never_hold_a_key_or_the_identity():
    abacus = Connection("ab", ConnectionType.ABACUS, {"endpoint": "https://a.example", "apiKey": "secret"})
    assert abacus.coordinates() == {"endpoint": "https://a.example"}
    ml = Connection("ml", ConnectionType.AZURE_ML, {"subscriptionId": "s", "workspace": "w", "clientId": "c",
                                                    "tenantId": "t"})
    assert ml.coordinates() == {"subscriptionId": "s", "workspace": "w"}
    moved = ml.at({"workspace": "then", "clientId": "other", "apiKey": "x"})
    assert moved.settings == {"subscriptionId": "s", "workspace": "then", "clientId": "c", "tenantId": "t"}
