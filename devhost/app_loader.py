"""Load a v2-model Functions app folder and index its functions by trigger, as the Functions host does.

The module-level app object may have any name and may be a `func.FunctionApp` with durable Blueprints
registered from sibling modules (durable-functions.md §2.1-2.2).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.functions.decorators.function_app import FunctionRegister

SUPPORTED_TRIGGERS = {"orchestrationTrigger", "activityTrigger", "entityTrigger", "httpTrigger", "queueTrigger",
                      "timerTrigger", "eventGridTrigger"}
FEATURE_NAMES = {
    "blobTrigger": "blob triggers",
    "eventHubTrigger": "Event Hubs triggers",
    "serviceBusTrigger": "Service Bus triggers",
    "cosmosDBTrigger": "Cosmos DB triggers",
}


_SETTING_REF = re.compile(r"%([A-Za-z0-9_:.\-]+)%")


def app_setting(name: str) -> str | None:
    """An app setting (an environment variable; names compare ignoring case, as the Functions host's do)."""
    return next((v for k, v in os.environ.items() if k.upper() == name.upper()), None)


class AppLoadError(Exception):
    """The app folder cannot be served; the message says why and what to do."""


@dataclass
class FunctionInfo:
    """One function of the app: its name, trigger binding, other bindings and the callable."""

    name: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    callable: Any

    @property
    def trigger_type(self) -> str:
        return self.trigger["type"]

    def binding(self, binding_type: str) -> dict[str, Any] | None:
        return next((b for b in self.bindings if b["type"] == binding_type), None)


@dataclass
class HttpRoute:
    """An HTTP-triggered function with its route template compiled."""

    function: FunctionInfo
    methods: set[str]
    auth_level: str
    pattern: re.Pattern[str]
    template: str


@dataclass
class LoadedApp:
    """The app's functions, indexed the way the host dispatches them."""

    folder: Path
    module: Any = None
    orchestrators: dict[str, FunctionInfo] = field(default_factory=dict)
    activities: dict[str, FunctionInfo] = field(default_factory=dict)
    entities: dict[str, FunctionInfo] = field(default_factory=dict)  # by lower-case entity name
    routes: list[HttpRoute] = field(default_factory=list)
    queue_triggers: list[FunctionInfo] = field(default_factory=list)
    timer_triggers: list[FunctionInfo] = field(default_factory=list)
    eventgrid_triggers: dict[str, FunctionInfo] = field(default_factory=dict)  # devhost/eventgrid.py
    all: dict[str, FunctionInfo] = field(default_factory=dict)
    route_prefix: str = "api"
    host_json: dict[str, Any] = field(default_factory=dict)

    def find_route(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        """The route that serves `method path` (path without the route prefix) and its parameters."""
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match and (not route.methods or method.upper() in route.methods):
                return route, {k: v for k, v in match.groupdict().items() if v is not None}
        return None

    def durable_setting(self, key: str, default: Any) -> Any:
        """A `extensions.durableTask` value of host.json; `%NAME%` reads app setting NAME, as the
        extension's name resolver does (unset: `default`)."""
        value = (self.host_json.get("extensions", {}).get("durableTask", {}) or {}).get(key, default)
        if isinstance(value, str) and (match := _SETTING_REF.fullmatch(value.strip())):
            return app_setting(match.group(1)) or default
        return value


def load_app(folder: str | Path, module_name: str = "function_app", strict: bool = True) -> LoadedApp:
    """Import `function_app.py` from `folder` and index its functions.

    With `strict`, an app that uses a feature devhost lacks fails here with a message naming it,
    rather than hanging later.
    """
    folder = Path(folder).resolve()
    cached = _LOADED.get((folder, module_name))
    if cached is not None and sys.modules.get(module_name) is cached.module:
        # The SDK's get_functions() can run only once per app object: reuse the index.
        return cached
    if not (folder / f"{module_name}.py").is_file():
        raise AppLoadError(f"{folder} has no {module_name}.py: point --app at a v2-model Functions app folder")
    # Sibling modules of the app import as top-level modules, as under the Functions host.
    if str(folder) in sys.path:
        sys.path.remove(str(folder))
    sys.path.insert(0, str(folder))
    module = sys.modules.get(module_name)
    if module is None or Path(getattr(module, "__file__", "") or "").resolve().parent != folder:
        spec = importlib.util.spec_from_file_location(module_name, folder / f"{module_name}.py")
        if spec is None or spec.loader is None:
            raise AppLoadError(f"cannot import {folder / module_name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    apps = [v for v in vars(module).values() if isinstance(v, FunctionRegister)]
    if not apps:
        raise AppLoadError(f"{module_name}.py defines no FunctionApp/DFApp object at module level")
    loaded = LoadedApp(folder=folder, module=module)
    host_json = folder / "host.json"
    if host_json.is_file():
        loaded.host_json = json.loads(host_json.read_text())
        prefix = loaded.host_json.get("extensions", {}).get("http", {}).get("routePrefix")
        if prefix is not None:
            loaded.route_prefix = prefix.strip("/")
    unsupported: list[str] = []
    for app in apps:
        for fn in app.get_functions():
            info = _function_info(fn)
            loaded.all[info.name] = info
            kind = info.trigger_type
            # The trigger's `orchestration` / `activity` property, when set, is the name callers use;
            # otherwise the function name is (OrchestrationTriggerAttribute semantics).
            if kind == "orchestrationTrigger":
                loaded.orchestrators[info.trigger.get("orchestration") or info.name] = info
            elif kind == "activityTrigger":
                loaded.activities[info.trigger.get("activity") or info.name] = info
            elif kind == "entityTrigger":
                # Entity names are case-insensitive: the SDK lower-cases them in scheduler ids.
                loaded.entities[(info.trigger.get("entityName") or info.name).lower()] = info
            elif kind == "httpTrigger":
                loaded.routes.append(_http_route(info))
            elif kind == "queueTrigger":
                loaded.queue_triggers.append(info)
            elif kind == "timerTrigger":
                loaded.timer_triggers.append(info)
            elif kind == "eventGridTrigger":
                loaded.eventgrid_triggers[info.name] = info
            else:
                unsupported.append(f"{info.name}: {FEATURE_NAMES.get(kind, kind)}")
    if unsupported and strict:
        raise AppLoadError("devhost cannot serve these functions (feature not implemented): "
                           + "; ".join(unsupported) + ". Run the app under `func start` instead.")
    # Literal segments win over parameters, as in ASP.NET routing.
    loaded.routes.sort(key=lambda r: (r.template.count("{"), -len(r.template)))
    _LOADED[(folder, module_name)] = loaded
    return loaded


_LOADED: dict[tuple[Path, str], LoadedApp] = {}


def _function_info(fn: Any) -> FunctionInfo:
    spec = json.loads(fn.get_function_json())
    bindings = spec["bindings"]
    trigger_name = fn.get_trigger().name
    trigger = next(b for b in bindings if b["name"] == trigger_name)
    return FunctionInfo(fn.get_function_name(), trigger, bindings, fn.get_user_function())


def _http_route(info: FunctionInfo) -> HttpRoute:
    template = (info.trigger.get("route") or info.name).strip("/")
    methods = {m.upper() for m in info.trigger.get("methods") or []}
    auth = str(info.trigger.get("authLevel") or "FUNCTION").upper()
    return HttpRoute(info, methods, auth, compile_route(template), template)


def compile_route(template: str) -> re.Pattern[str]:
    """Compile a Functions route template (`runs/{id}`, `{id:int?}`, `{*rest}`) to a regex."""
    out, pos = "", 0
    for match in re.finditer(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\?)?\}", template):
        literal = template[pos:match.start()]
        optional = bool(match.group(3))
        if optional and literal.endswith("/"):
            out += re.escape(literal[:-1]) + f"(?:/(?P<{match.group(2)}>[^/]+))?"
        else:
            out += re.escape(literal)
            body = ".*" if match.group(1) else "[^/]+"
            out += f"(?P<{match.group(2)}>{body})" + ("?" if optional else "")
        pos = match.end()
    out += re.escape(template[pos:])
    return re.compile(out + "/?", re.IGNORECASE)
