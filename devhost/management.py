"""The Durable Functions management HTTP API, so the real `DurableOrchestrationClient` works unchanged.

Routes, status codes and payloads follow durable-functions.md §2.3-2.4 (`HttpApiHandler.cs`). Every
handler returns `(status, headers, body)` where body is JSON-serialisable or None (empty body).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote, unquote

from .entities import input_text_of
from .history import EventType, format_time, parse_time
from .host import DevHost, InstanceGone, InstanceNotFound
from .store import TERMINAL, InstanceExists, InstanceRow

PREFIX = "/runtime/webhooks/durabletask/"
# The Python SDK sends every client call to `rpcBaseUrl`, which in Azure is a loopback-only listener
# that asks for no key (durable-functions.md §2.3); devhost serves it on its own port under this path.
RPC_PREFIX = "/durabletask/"
# Instance ids: at most 256 characters, none of / \ # ? and not starting with @ (durable-functions.md §4).
_BAD_ID = re.compile(r"[/\\#?\x00-\x1f\x7f]")

Response = tuple[int, dict[str, str], Any]


def valid_instance_id(instance_id: str) -> bool:
    return 0 < len(instance_id) <= 256 and not _BAD_ID.search(instance_id) and not instance_id.startswith("@")


class ManagementApi:
    """Serves `/runtime/webhooks/durabletask/...` for one host; `base_url` is the public origin."""

    def __init__(self, host: DevHost, base_url: str, function_key: str | None = None) -> None:
        self.host = host
        self.base_url = base_url.rstrip("/")
        self.function_key = function_key

    # ---- binding JSON and URLs -------------------------------------------------------------
    def query_suffix(self) -> str:
        suffix = f"taskHub={quote(self.host.task_hub)}&connection=Storage"
        return suffix + (f"&code={quote(self.function_key)}" if self.function_key else "")

    def client_binding(self) -> str:
        """The `durableClient` input binding value (durable-functions.md §2.3)."""
        base = self.base_url + PREFIX
        qs = self.query_suffix()
        return json.dumps({
            "taskHubName": self.host.task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{base}orchestrators/{{functionName}}[/{{instanceId}}]?{qs}",
                "createAndWaitOnNewInstancePostUri":
                    f"{base}orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                    f"&pollingInterval={{intervalInSeconds}}&{qs}",
            },
            "managementUrls": self.management_urls("INSTANCEID") | {"id": "INSTANCEID"},
            "baseUrl": base,
            "requiredQueryStringParameters": qs,
            "rpcBaseUrl": self.rpc_base_url(),
        })

    def rpc_base_url(self) -> str:
        """Where the SDK's client sends every call. It appends paths and query strings to this text, so a
        key can ride only in the user-info part; aiohttp and requests send it as Basic auth."""
        if not self.function_key:
            return self.base_url + RPC_PREFIX
        scheme, _, origin = self.base_url.partition("://")
        return f"{scheme}://devhost:{quote(self.function_key, safe='')}@{origin}{RPC_PREFIX}"

    def management_urls(self, instance_id: str) -> dict[str, str]:
        base = self.base_url + PREFIX + "instances/" + instance_id
        qs = self.query_suffix()
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{qs}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{qs}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{qs}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{qs}",
            "purgeHistoryDeleteUri": f"{base}?{qs}",
            "restartPostUri": f"{base}/restart?{qs}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{qs}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{qs}",
        }

    # ---- dispatch ----------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Response:
        """Serve one request whose path starts with PREFIX or RPC_PREFIX."""
        prefix = PREFIX if path.startswith(PREFIX) else RPC_PREFIX
        parts = path[len(prefix):].split("/")
        if parts and parts[-1] == "":
            parts = parts[:-1]
        try:
            return self._route(method, parts, query, headers, body)
        except InstanceNotFound:
            return 404, {}, None
        except InstanceGone as exc:
            return 410, {}, {"Message": f"Instance {exc} has already completed."}

    def _route(self, method: str, parts: list[str], query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Response:
        if parts and parts[0] == "orchestrators" and method == "POST" and len(parts) in (2, 3):
            return self.start(parts[1], parts[2] if len(parts) == 3 else None, body, query.get("version") or None)
        if parts and parts[0] == "instances":
            if len(parts) == 1:
                if method == "GET":
                    return self.list(query, headers)
                if method == "DELETE":
                    return self.purge_many(query)
            elif len(parts) == 2:
                if method == "GET":
                    return self.status(parts[1], query)
                if method == "DELETE":
                    return self.purge(parts[1])
            elif method == "POST" and len(parts) >= 3:
                return self.command(parts[1], parts[2], parts[3:], query, body)
        if parts and parts[0] == "entities":
            return self.entities(method, [unquote(p) for p in parts[1:]], query, headers, body)
        return 404, {}, _error(f"No durable management route for {method} /{'/'.join(parts)}.")

    # ---- handlers ------------------------------------------------------------------------------
    def start(self, name: str, instance_id: str | None, body: bytes, version: str | None = None) -> Response:
        instance_id = instance_id or uuid.uuid4().hex
        if not valid_instance_id(instance_id):
            return 400, {}, _error(f"Instance ID '{instance_id}' is not valid.")
        try:
            token = json.loads(body) if body.strip() else None
        except ValueError:
            return 400, {}, _error("The request content is not valid JSON.")
        try:
            self.host.start_new(name, instance_id, token, version)
        except LookupError as exc:
            return 400, {}, _error(str(exc))
        except InstanceExists as exc:
            return 409, {}, _error(str(exc))
        payload = self.management_urls(instance_id)
        return 202, {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}, payload

    def status(self, instance_id: str, query: dict[str, str]) -> Response:
        inst = self.host.get(instance_id)
        if inst is None:
            return 404, {}, None
        body = self.status_payload(inst, show_input=_flag(query, "showInput", True),
                                   show_history=_flag(query, "showHistory", False),
                                   show_output=_flag(query, "showHistoryOutput", False))
        if inst.status in TERMINAL:
            if inst.status == "Failed" and _flag(query, "returnInternalServerErrorOnFailure", False):
                return 500, {}, body
            return 200, {}, body
        return 202, {"Location": self.management_urls(instance_id)["statusQueryGetUri"], "Retry-After": "5"}, body

    def status_payload(self, inst: InstanceRow, show_input: bool = True, show_history: bool = False,
                       show_output: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": inst.name, "instanceId": inst.id, "runtimeStatus": inst.status,
            "input": inst.input if show_input else None, "customStatus": inst.custom_status,
            "output": inst.output, "createdTime": _short_time(inst.created),
            "lastUpdatedTime": _short_time(inst.updated),
        }
        if show_history:
            body["historyEvents"] = public_history(self.host.store.history(inst.id), show_output)
        return body

    def list(self, query: dict[str, str], headers: dict[str, str]) -> Response:
        top = int(query.get("top") or 100)
        statuses = [s for s in (query.get("runtimeStatus") or "").split(",") if s]
        token = headers.get("x-ms-continuation-token") or None
        rows = self.host.store.query(created_from=_time_arg(query.get("createdTimeFrom")),
                                     created_to=_time_arg(query.get("createdTimeTo")), statuses=statuses,
                                     prefix=query.get("instanceIdPrefix"), limit=top + 1, after=token)
        out_headers = {}
        if len(rows) > top:
            rows = rows[:top]
            out_headers["x-ms-continuation-token"] = f"{rows[-1].created}|{rows[-1].id}"
        show_input = _flag(query, "showInput", False)
        return 200, out_headers, [self.status_payload(r, show_input=show_input) for r in rows]

    def command(self, instance_id: str, verb: str, rest: list[str], query: dict[str, str], body: bytes) -> Response:
        reason = query.get("reason")
        if verb == "raiseEvent" and len(rest) == 1:
            try:
                data = json.loads(body) if body.strip() else None
            except ValueError:
                return 400, {}, _error("Only application/json request content is supported")
            self.host.raise_event(instance_id, rest[0], data)
            return 202, {}, None
        if verb == "terminate":
            self.host.terminate(instance_id, reason)
            return 202, {}, None
        if verb == "suspend":
            self.host.suspend(instance_id, reason)
            return 202, {}, None
        if verb == "resume":
            self.host.resume(instance_id, reason)
            return 202, {}, None
        if verb == "restart":
            return self.restart(instance_id, _flag(query, "restartWithNewInstanceId", True))
        if verb == "rewind":
            try:
                self.host.rewind(instance_id, reason)
            except ValueError as exc:
                return 501, {}, _error(str(exc))
            return 202, {}, None
        return 404, {}, _error(f"Unknown instance command '{verb}'.")

    def entities(self, method: str, parts: list[str], query: dict[str, str], headers: dict[str, str],
                 body: bytes) -> Response:
        """`entities/{name}/{key}`: GET reads the state (404 before the first operation or once deleted),
        POST `?op=` signals; GET `entities/[{name}]` lists entities (§2.4). Names are case-insensitive."""
        if len(parts) == 2 and all(parts) and method == "GET":
            state = self.host.read_entity(parts[0], parts[1])
            if not state.exists:
                return 404, {}, None
            return 200, {}, json.loads(state.state_text or "null")
        if len(parts) == 2 and all(parts) and method == "POST":
            try:
                token = json.loads(body) if body.strip() else None
            except ValueError:
                return 400, {}, _error("The request content is not valid JSON.")
            self.host.signal_entity(parts[0], parts[1], query.get("op") or "", input_text_of(token))
            return 202, {}, None
        if len(parts) <= 1 and method == "GET":
            return self.list_entities(parts[0] if parts else None, query, headers)
        return 404, {}, _error("Entity routes are entities/{name}/{key} (GET, POST ?op=) and entities/[{name}] (GET).")

    def list_entities(self, name: str | None, query: dict[str, str], headers: dict[str, str]) -> Response:
        top = int(query.get("top") or 100)
        rows = self.host.store.query_entities(name, limit=top + 1,
                                              after=headers.get("x-ms-continuation-token") or None)
        out_headers = {}
        if len(rows) > top:
            rows = rows[:top]
            out_headers["x-ms-continuation-token"] = f"@{rows[-1][0]}@{rows[-1][1]}"
        fetch_state = _flag(query, "fetchState", False)
        return 200, out_headers, [
            {"entityId": {"name": n, "key": k}, "lastOperationTime": _short_time(updated),
             "state": json.loads(state) if fetch_state else None}
            for n, k, state, updated in rows]

    def restart(self, instance_id: str, new_id: bool) -> Response:
        inst = self.host.get(instance_id)
        if inst is None:
            return 400, {}, _error(f"No instance with ID '{instance_id}' was found.")
        target = uuid.uuid4().hex if new_id else instance_id
        try:
            self.host.start_new(inst.name, target, inst.input)
        except InstanceExists as exc:
            return 409, {}, _error(str(exc))
        return 202, {}, self.management_urls(target)

    def purge(self, instance_id: str) -> Response:
        deleted = self.host.store.purge(instance_id)
        return (200, {}, {"instancesDeleted": deleted}) if deleted else (404, {}, None)

    def purge_many(self, query: dict[str, str]) -> Response:
        created_from = _time_arg(query.get("createdTimeFrom"))
        if not created_from:
            return 400, {}, _error("createdTimeFrom is required.")
        statuses = [s for s in (query.get("runtimeStatus") or "").split(",") if s]
        rows = self.host.store.query(created_from=created_from, created_to=_time_arg(query.get("createdTimeTo")),
                                     statuses=statuses, limit=100000)
        deleted = sum(self.host.store.purge(r.id) for r in rows)
        return (200, {}, {"instancesDeleted": deleted}) if deleted else (404, {}, None)


def public_history(events: list[dict[str, Any]], show_output: bool) -> list[dict[str, Any]]:
    """History as the status API shows it (§2.4): names not numbers, scheduling merged into results."""
    scheduled: dict[int, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for ev in events:
        kind = EventType(ev["EventType"])
        if kind in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted):
            continue
        if kind in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated):
            scheduled[ev["EventId"]] = ev
            if kind == EventType.TaskScheduled:
                continue
        item = {k: v for k, v in ev.items() if k not in ("EventId", "IsPlayed", "EventType")}
        item = {"EventType": kind.name, **item}
        if kind == EventType.ExecutionStarted:
            item["FunctionName"] = ev.get("Name")
        source = scheduled.get(ev.get("TaskScheduledId", -2))
        if source is not None and kind in (EventType.TaskCompleted, EventType.TaskFailed):
            item["FunctionName"] = source.get("Name")
            item["ScheduledTime"] = source.get("Timestamp")
        if not show_output:
            item.pop("Result", None)
            item.pop("Input", None)
        out.append(item)
    return out


def _error(message: str) -> dict[str, str]:
    return {"Message": message, "ExceptionMessage": message}


def _flag(query: dict[str, str], name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None or value == "":
        return default
    return value.lower() == "true"


def _short_time(stamp: str) -> str:
    return parse_time(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_arg(value: str | None) -> str | None:
    return format_time(parse_time(value)) if value else None
