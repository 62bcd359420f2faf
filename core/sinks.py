"""Notification sinks: where run events go, configured like connections (DESIGN.md "The status contract, pushed").

App settings `NOTIFY__<name>__<setting>`:
- `type`: `queue` (an Azure Storage queue), `eventgrid` (an Event Grid custom topic) or `webhook`;
- queue: `queue` (default `runbridge-events`), `connection` (the storage connection setting's name, default
  `AzureWebJobsStorage`);
- eventgrid: `topicEndpoint` (required), optional `tenantId`, `clientId` (the app's identity);
- webhook: `url` (required; https, or http to a loopback host) and `secret` (`whsec_<base64>`, required:
  every webhook is signed per Standard Webhooks);
- any sink: `types` (comma-separated event types it takes; all when unset) and `perRequest` (`true`: only
  runs whose request names the sink in `notify` go there).

Problems name the full setting and never quote a value, as for connections.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from core.cloud_events import EVENT_TYPES
from core.connections import CONNECTION_NAME, check_endpoint, is_secret_setting

SETTINGS_PREFIX = "NOTIFY"
DEFAULT_QUEUE = "runbridge-events"
UNDELIVERED_QUEUE = "runbridge-events-undelivered"
DEFAULT_STORAGE = "AzureWebJobsStorage"
# Azure Storage queue names: 3-63 lower-case letters, digits and single dashes, not at either end.
QUEUE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
SECRET_PREFIX = "whsec_"


class SinkType(str, Enum):
    """How a sink is reached."""

    QUEUE = "queue"
    EVENTGRID = "eventgrid"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class Sink:
    """A configured sink; secret settings stay out of repr."""

    name: str
    type: SinkType
    settings: Mapping[str, str] = field(default_factory=dict, hash=False)
    types: frozenset[str] | None = None  # the event types it takes; None: all
    per_request: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    def __repr__(self) -> str:
        shown = {k: "***" if is_secret_setting(k) else v for k, v in self.settings.items()}
        return f"Sink(name={self.name!r}, type={self.type.value!r}, settings={shown!r})"

    def takes(self, event_type: str, requested: Collection[str]) -> bool:
        """True when an event of `event_type`, of a run whose request named `requested`, goes here."""
        if self.types is not None and event_type not in self.types:
            return False
        return not self.per_request or self.name.casefold() in {n.casefold() for n in requested}

    def public_view(self) -> dict[str, object]:
        return {"name": self.name, "type": self.type.value,
                "settings": {k: v for k, v in self.settings.items() if not is_secret_setting(k)}}


def find_sink(sinks: Mapping[str, Sink], name: str) -> Sink | None:
    """The sink called `name`, ignoring case."""
    return sinks.get(name) or next((s for k, s in sinks.items() if k.casefold() == name.casefold()), None)


def read_sinks(environ: Mapping[str, str]) -> tuple[dict[str, Sink], list[str]]:
    """The well-formed sinks in `environ`, and one problem line per wrong setting."""
    groups: dict[str, dict[str, tuple[str, str]]] = {}
    spellings: dict[str, str] = {}
    problems: list[str] = []
    for setting, value in environ.items():
        parts = setting.split("__")
        if parts[0].upper() != SETTINGS_PREFIX:
            continue
        if len(parts) != 3 or not CONNECTION_NAME.fullmatch(parts[1]) or not parts[2]:
            problems.append(f"{setting}: expected {SETTINGS_PREFIX}__<name>__<setting>, where <name> is 1-64 letters, "
                            "digits, '.', '_' or '-' starting with a letter or digit")
            continue
        group = groups.setdefault(parts[1].casefold(), {})
        group[parts[2].casefold()] = (setting, value.strip())
        spellings.setdefault(parts[1].casefold(), parts[1])
    sinks = {}
    for folded, group in groups.items():
        sink = _build(spellings[folded], group, problems)
        if sink is not None:
            sinks[sink.name] = sink
    return sinks, sorted(problems)


def _queue_name(value: str) -> str:
    if not QUEUE_NAME.fullmatch(value):
        raise ValueError("must be a storage queue name: 3-63 lower-case letters, digits and single dashes")
    return value


def _setting_name(value: str) -> str:
    if not SETTING_NAME.fullmatch(value):
        raise ValueError("must name an app setting (letters, digits and '_')")
    return value


def _secret(value: str) -> str:
    if value.casefold().startswith("@microsoft.keyvault("):
        raise ValueError("is an unresolved Key Vault reference; check that the app's identity can read it")
    if not value.startswith(SECRET_PREFIX):
        raise ValueError(f"must be a Standard Webhooks secret: {SECRET_PREFIX}<base64>")
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"must be a Standard Webhooks secret: {SECRET_PREFIX}<base64>") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("must hold a key of 24 to 64 bytes")
    return value


def _guid(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value):
        raise ValueError("must be a GUID")
    return value


def _tenant(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}", value):
        raise ValueError("must be a tenant GUID or domain name")
    return value


# Per type: setting -> (required, check, default)
_SPECS = {
    SinkType.QUEUE: {"queue": (False, _queue_name, DEFAULT_QUEUE),
                     "connection": (False, _setting_name, DEFAULT_STORAGE)},
    SinkType.EVENTGRID: {"topicEndpoint": (True, check_endpoint, None), "tenantId": (False, _tenant, None),
                         "clientId": (False, _guid, None)},
    SinkType.WEBHOOK: {"url": (True, check_endpoint, None), "secret": (True, _secret, None)},
}
_COMMON = ("types", "perRequest")


def _build(name: str, group: dict[str, tuple[str, str]], problems: list[str]) -> Sink | None:
    type_setting, type_text = group.get("type", (f"{SETTINGS_PREFIX}__{name}__type", ""))
    try:
        kind = SinkType(type_text.casefold())
    except ValueError:
        reason = "is missing" if not type_text else "is not a sink type"
        problems.append(f"{type_setting}: {reason}; expected one of {', '.join(t.value for t in SinkType)}")
        return None
    spec = _SPECS[kind]
    canonical = {key.casefold(): key for key in (*spec, *_COMMON)}
    found: list[str] = []
    settings: dict[str, str] = {}
    types: frozenset[str] | None = None
    per_request = False
    for folded, (setting, value) in group.items():
        key = canonical.get(folded)
        if folded == "type":
            continue
        if key in _COMMON and not value:
            continue  # an empty optional setting means unset (infra writes every key)
        if key is None:
            found.append(f"{setting}: unknown setting for a {kind.value} sink; expected one of "
                         f"{', '.join((*spec, *_COMMON))}")
        elif key == "types":
            wanted = frozenset(t.strip() for t in value.split(",") if t.strip())
            unknown = wanted - set(EVENT_TYPES)
            if unknown or not wanted:
                found.append(f"{setting}: must list event types from {', '.join(EVENT_TYPES)}")
            types = wanted
        elif key == "perRequest":
            if value.casefold() not in ("true", "false"):
                found.append(f"{setting}: must be true or false")
            per_request = value.casefold() == "true"
        elif value:
            try:
                settings[key] = spec[key][1](value)
            except ValueError as error:
                found.append(f"{setting}: {error}")
    for key, (required, _, default) in spec.items():
        if key not in settings and required and not any(f"__{key}:" in p for p in found):
            found.append(f"{SETTINGS_PREFIX}__{name}__{key}: is missing (required for a {kind.value} sink)")
        elif key not in settings and default is not None:
            settings[key] = default
    if found:
        problems.extend(found)
        return None
    return Sink(name, kind, settings, types, per_request)
