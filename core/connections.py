"""Connections: the server-side settings that say where a platform is and how to reach it.

A request names a connection; it never carries an endpoint or a credential (DESIGN.md "Connections").
Connections come from app settings `CONNECTIONS__<name>__<setting>`, e.g.
`CONNECTIONS__ml-prod__type=azure_ml`, `CONNECTIONS__ml-prod__workspace=train-ws`.

Case: `<name>` keeps the spelling of its `type` setting, and lookups by name are case-insensitive, as App
Service settings are on Windows and as .NET configuration treats them; setting keys are matched
case-insensitively too and stored in their canonical spelling (`subscriptionId`). Problems are reported
by full setting name and never quote a value, so a secret cannot leak through a configuration error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from urllib.parse import urlsplit


class ConnectionType(str, Enum):
    """The platform a connection reaches; platform folders carry the same names."""

    AZURE_ML = "azure_ml"
    FOUNDRY_AGENTS = "foundry_agents"
    ABACUS = "abacus"

    def __str__(self) -> str:
        return self.value


# The one place that says which connection type serves which job type.
CONNECTION_TYPE_FOR_JOB_TYPE: Mapping[str, ConnectionType] = MappingProxyType(
    {
        "azureml_pipeline": ConnectionType.AZURE_ML,
        "foundry_agent": ConnectionType.FOUNDRY_AGENTS,
        "abacus_pipeline": ConnectionType.ABACUS,
    }
)
JOB_TYPES: frozenset[str] = frozenset(CONNECTION_TYPE_FOR_JOB_TYPE)

# Connection names go into URLs (/api/connections/{name}/jobs) and setting names: letters, digits, '.',
# '_' and '-', starting with a letter or digit, at most 64 characters.
CONNECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SETTINGS_PREFIX = "CONNECTIONS"
_SECRET_WORDS = re.compile(r"key|secret|token|password|passwd|pwd|credential|connectionstring", re.IGNORECASE)


# Settings that choose who signs in: resolved by connection name at call time, like keys, never captured.
IDENTITY_SETTINGS = frozenset({"tenantId", "clientId"})


# Settings about how runbridge watches a platform, not where its jobs live: never a run's coordinates.
WATCH_SETTINGS = frozenset({"events"})


def _is_coordinate(key: str) -> bool:
    return not is_secret_setting(key) and key not in IDENTITY_SETTINGS and key not in WATCH_SETTINGS


def is_secret_setting(key: str) -> bool:
    """True for settings whose value must never be shown: apiKey and anything named like a secret."""
    return _SECRET_WORDS.search(key) is not None


@dataclass(frozen=True)
class Connection:
    """A configured connection. Secret settings are masked in repr/str and left out of `public_view`."""

    name: str
    type: ConnectionType
    settings: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    def __repr__(self) -> str:
        shown = {k: "***" if is_secret_setting(k) else v for k, v in self.settings.items()}
        return f"Connection(name={self.name!r}, type={self.type.value!r}, settings={shown!r})"

    def serves(self, job_type: str) -> bool:
        """True when this connection's platform runs `job_type`."""
        return CONNECTION_TYPE_FOR_JOB_TYPE.get(job_type) is self.type

    def coordinates(self) -> dict[str, str]:
        """Where this connection's platform keeps its jobs: the non-secret settings other than the identity
        (endpoint, subscription, resource group, workspace, project...). A run captures them at submit."""
        return {k: v for k, v in self.settings.items() if _is_coordinate(k)}

    def at(self, coordinates: Mapping[str, str]) -> Connection:
        """This connection (its identity and keys, as configured now) pointed at `coordinates`, so a run stays
        bound to where its remote job lives whatever the settings say today. Only coordinates are taken."""
        moved = {k: v for k, v in coordinates.items() if _is_coordinate(k) and isinstance(v, str)}
        return Connection(self.name, self.type, {**self.settings, **moved})

    def public_view(self) -> dict[str, object]:
        """Name, type and the non-secret settings: what an API or a log may show."""
        public = {k: v for k, v in self.settings.items() if not is_secret_setting(k)}
        return {"name": self.name, "type": self.type.value, "settings": public}


class ConnectionSettingsError(ValueError):
    """Connection settings are wrong; `problems` names each setting and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("connection settings are invalid:\n" + "\n".join(f"- {p}" for p in problems))
        self.problems = problems


def find_connection(connections: Mapping[str, Connection], name: str) -> Connection | None:
    """The connection called `name`: exact spelling first, then ignoring case."""
    found = connections.get(name)
    if found is not None:
        return found
    folded = name.casefold()
    return next((c for key, c in connections.items() if key.casefold() == folded), None)


def load_connections(environ: Mapping[str, str]) -> dict[str, Connection]:
    """Every connection in `environ`; raise ConnectionSettingsError naming every problem if any."""
    connections, problems = read_connections(environ)
    if problems:
        raise ConnectionSettingsError(problems)
    return connections


def read_connections(environ: Mapping[str, str]) -> tuple[dict[str, Connection], list[str]]:
    """The well-formed connections, and a problem line for each setting that is wrong.

    A broken connection is left out without taking the good ones with it; the caller logs the
    problems (they hold setting names only, never values).
    """
    groups: dict[str, dict[str, tuple[str, str]]] = {}
    spellings: dict[str, str] = {}
    problems: list[str] = []
    for setting, value in environ.items():
        parts = setting.split("__")
        if parts[0].upper() != SETTINGS_PREFIX:
            continue
        if len(parts) != 3 or not CONNECTION_NAME.fullmatch(parts[1]) or not parts[2]:
            problems.append(
                f"{setting}: expected {SETTINGS_PREFIX}__<name>__<setting>, where <name> is 1-64 letters, "
                "digits, '.', '_' or '-' starting with a letter or digit"
            )
            continue
        name, key = parts[1], parts[2]
        group = groups.setdefault(name.casefold(), {})
        if key.casefold() in group:
            problems.append(f"{setting}: set twice (setting names are compared ignoring case)")
            continue
        group[key.casefold()] = (setting, value.strip())
        if key.casefold() == "type" or name.casefold() not in spellings:
            spellings[name.casefold()] = name
    connections: dict[str, Connection] = {}
    for folded, group in groups.items():
        connection = _build(spellings[folded], group, problems)
        if connection is not None:
            connections[connection.name] = connection
    return connections, sorted(problems)


@dataclass(frozen=True)
class _Setting:
    required: bool
    check: Callable[[str], str]
    default: Callable[[Mapping[str, str]], str] | None = None


def _build(name: str, group: dict[str, tuple[str, str]], problems: list[str]) -> Connection | None:
    type_setting, type_text = group.get("type", (f"{SETTINGS_PREFIX}__{name}__type", ""))
    kinds = ", ".join(t.value for t in ConnectionType)
    try:
        kind = ConnectionType(type_text.casefold())
    except ValueError:
        reason = "is missing" if not type_text else "is not a connection type"
        problems.append(f"{type_setting}: {reason}; expected one of {kinds}")
        return None
    spec = _SPECS[kind]
    canonical = {key.casefold(): key for key in spec}
    found: list[str] = []
    settings: dict[str, str] = {}
    for folded, (setting, value) in group.items():
        key = canonical.get(folded)
        if folded == "type":
            continue
        elif key is None and folded in _REFUSED.get(kind, {}):
            found.append(f"{setting}: {_REFUSED[kind][folded]}")
        elif key is None:
            found.append(f"{setting}: unknown setting for {kind.value}; expected one of {', '.join(spec)}")
        elif value:
            try:
                settings[key] = spec[key].check(value)
            except ValueError as error:
                found.append(f"{setting}: {error}")
        elif spec[key].required:
            found.append(f"{setting}: is empty (required for {kind.value})")
    for key, rule in spec.items():
        if rule.required and key.casefold() not in group:
            found.append(f"{SETTINGS_PREFIX}__{name}__{key}: is missing (required for {kind.value})")
    if found:
        problems.extend(found)
        return None
    for key, rule in spec.items():
        if key not in settings and rule.default is not None:
            settings[key] = rule.default(settings)
    return Connection(name, kind, settings)


def _pattern(regex: str, reason: str, transform: Callable[[str], str] = str) -> Callable[[str], str]:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(reason)
        return transform(value)

    return check


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _endpoint(value: str) -> str:
    """An https URL, or http to this machine (simulators); tokens are sent there, so nothing else."""
    try:
        url = urlsplit(value)
        host = url.hostname
        url.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError("must be an absolute https URL") from None
    if url.scheme == "http" and host in _LOOPBACK:
        pass
    elif url.scheme != "https" or not host:
        raise ValueError("must be an absolute https URL (http only for 127.0.0.1/localhost)")
    if url.username or url.password or url.query or url.fragment or re.search(r"\s", value):
        raise ValueError("must be a plain URL without credentials, query, fragment or spaces")
    return value.rstrip("/")


check_endpoint = _endpoint  # the same rule for other outbound URLs in settings (core/sinks.py)


def _api_key(value: str) -> str:
    if value.casefold().startswith("@microsoft.keyvault("):
        raise ValueError("is an unresolved Key Vault reference; check that the app's identity can read it")
    if re.search(r"[\s\x00-\x1f\x7f]", value):
        raise ValueError("must not contain spaces or control characters")
    return value


_GUID = r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
_guid = _pattern(_GUID, "must be a GUID")
_tenant = _pattern(rf"{_GUID}|[A-Za-z0-9][A-Za-z0-9.-]{{0,252}}", "must be a tenant GUID or domain name")
_region = _pattern(r"[A-Za-z][A-Za-z0-9]{1,39}", "must be an Azure region name such as eastus", str.lower)
_segment = _pattern(r"[A-Za-z0-9_()-][A-Za-z0-9_.()-]{0,254}", "must be a resource name (letters, digits, . _ - ( ))")
_api_version = _pattern(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}", "must be an API version such as 2024-10-01 or v1")
_resource_id = _pattern(
    r"/subscriptions/[A-Za-z0-9_.()/-]{1,1000}", "must be an ARM resource id starting with /subscriptions/"
)

_NO_EVENTS = ("{platform} publishes no status events for {what}: runs are polled (remove this setting; "
              "docs/operations.md gives the polling figures)")

# Settings a type refuses with a reason of their own, not just "unknown" (keys in lower case).
_REFUSED: dict[ConnectionType, dict[str, str]] = {
    # foundry-agents.md §4: the agents data plane takes Microsoft Entra ID tokens only; no key is accepted.
    ConnectionType.FOUNDRY_AGENTS: {
        key: "the Foundry Agent Service accepts only Microsoft Entra ID tokens, never an API key; remove this "
        "setting and give the app's identity the Azure AI User role on the project (clientId picks a "
        "user-assigned identity)"
        for key in ("apikey", "api-key", "key")
    } | {"events": _NO_EVENTS.format(platform="the Foundry Agent Service", what="agent runs")},
    ConnectionType.ABACUS: {"events": _NO_EVENTS.format(platform="Abacus.AI", what="pipeline runs")},
}

# Per type: the settings it reads (DESIGN.md "Connections"), whether each is required, and defaults.
_SPECS: dict[ConnectionType, dict[str, _Setting]] = {
    ConnectionType.AZURE_ML: {
        "subscriptionId": _Setting(True, _guid),
        "resourceGroup": _Setting(True, _segment),
        "workspace": _Setting(True, _segment),
        "region": _Setting(True, _region),
        "tenantId": _Setting(False, _tenant),
        "clientId": _Setting(False, _guid),
        "armEndpoint": _Setting(False, _endpoint, lambda s: "https://management.azure.com"),
        # RunHistory, for start/end times and error text (reference/azureml-jobs.md 2.7).
        "historyEndpoint": _Setting(False, _endpoint, lambda s: f"https://{s['region']}.api.azureml.ms"),
        # The workspace's Event Grid system topic delivers run status events to the app (infra/README.md):
        # a run's safety-net polling relaxes once its first event arrived (core/poll_policy.py).
        "events": _Setting(False, _pattern("(?i)eventgrid", "must be eventgrid (the only event source of Azure "
                                           "ML runs)", str.lower)),
    },
    ConnectionType.FOUNDRY_AGENTS: {
        "endpoint": _Setting(True, _endpoint),
        "apiVersion": _Setting(False, _api_version),
        "tenantId": _Setting(False, _tenant),
        "clientId": _Setting(False, _guid),
        "projectResourceId": _Setting(False, _resource_id),
    },
    ConnectionType.ABACUS: {
        "endpoint": _Setting(False, _endpoint, lambda s: "https://api.abacus.ai"),
        "apiKey": _Setting(True, _api_key),
        # The web app's host for monitor links (abacus-pipelines.md §5: an organisation may have its own
        # dashboardEndpoint); unset, the client links to https://abacus.ai.
        "dashboardEndpoint": _Setting(False, _endpoint),
    },
}
