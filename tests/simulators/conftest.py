"""Fixtures for the simulator tests: servers on loopback, a virtual clock, and small HTTP helpers.

Everything talks real HTTP through `requests`, so the wire (status lines, headers, JSON bodies,
dropped sockets, timeouts) is what the tests check. Lifecycles move only by `VirtualClock.advance`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devkit.clock import VirtualClock
from simulators.azure_ml import WORKSPACE_ID, create
from simulators.faults import FaultInjector
from simulators.routing import Request, Response, Route
from simulators.server import Platform, SimServer

API_VERSION = "2024-10-01"
TOKEN = "test-token"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A session that never uses proxies from the environment and carries a bearer token."""
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    yield session
    session.close()


# -- a toy platform, to test the framework on its own ------------------------------------------------


class ToyPlatform(Platform):
    """A tiny platform: items in a dict, an error shape of its own, one public route."""

    name = "toy"

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock)
        self.reset()

    def reset(self) -> None:
        self.items: dict[str, Any] = {"seeded": {"value": 1}}
        self.created = 0

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/items/{item_id}", "Items_Get", self.get_item),
            Route("POST", "/items", "Items_Create", self.create_item),
            Route("GET", "/echo/{a}/{b}", "Echo", self.echo),
            Route("GET", "/public", "Public", lambda r: (200, {"public": True}), auth=False),
            Route("GET", "/boom", "Boom", self.boom),
        ]

    def error_response(self, request: Request | None, status: int, message: str) -> Response:
        return Response(status, {"toyError": {"status": status, "message": message}}, {"x-toy": "error"})

    def stats(self) -> dict[str, Any]:
        return {"remoteJobsCreated": self.created, "runningNow": len(self.items)}

    def get_item(self, request: Request) -> Response:
        item = self.items.get(request.params["item_id"])
        if item is None:
            return self.error_response(request, 404, "no such item")
        return Response(200, item)

    def create_item(self, request: Request) -> tuple:
        item_id = request.body["id"]
        self.items[item_id] = request.body
        self.created += 1
        return 201, request.body, {"Location": f"{request.base_url}/items/{item_id}"}

    def echo(self, request: Request) -> Response:
        return Response(
            200, {"params": request.params, "query": request.query, "xTest": request.header("X-Test")}
        )

    def boom(self, request: Request) -> Response:
        raise RuntimeError("kaboom")


@pytest.fixture
def make_toy() -> Iterator[Any]:
    """A factory of started toy servers (any clock, any faults); all are stopped at teardown."""
    servers: list[SimServer] = []

    def make(clock: Any, faults: FaultInjector | None = None) -> SimServer:
        server = SimServer(ToyPlatform(clock), faults=faults)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def toy(make_toy: Any, clock: VirtualClock) -> SimServer:
    return make_toy(clock, FaultInjector(seed=1))


# -- the Azure ML simulator --------------------------------------------------------------------------


class Workspace:
    """URL building and the few calls most Azure ML tests make (tests get it through fixtures)."""

    api_version = API_VERSION

    def __init__(self, server: SimServer, http: requests.Session) -> None:
        self.server = server
        self.http = http
        self.base = server.url

    def jobs_url(self, name: str | None = None, suffix: str = "") -> str:
        url = f"{self.base}{WORKSPACE_ID}/jobs"
        return url + (f"/{name}" if name is not None else "") + suffix

    def history_url(self, name: str) -> str:
        return f"{self.base}/history/v1.0{WORKSPACE_ID}/runs/{name}/details"

    def get(self, name: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.jobs_url(name), params={"api-version": API_VERSION}, **kwargs)

    def status(self, name: str) -> str:
        response = self.get(name)
        assert response.status_code == 200, response.text
        return response.json()["properties"]["status"]

    def put(self, name: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.http.put(self.jobs_url(name), params={"api-version": API_VERSION}, json=body, **kwargs)

    def cancel(self, name: str) -> requests.Response:
        return self.http.post(self.jobs_url(name, "/cancel"), params={"api-version": API_VERSION})

    def details(self, name: str) -> requests.Response:
        return self.http.get(self.history_url(name))

    def list(self, **params: str) -> requests.Response:
        return self.http.get(self.jobs_url(), params={"api-version": API_VERSION, **params})

    def clone(self, template: str, name: str, **inputs: str) -> requests.Response:
        """What a client does (azureml-jobs.md, "What a client must strip"): GET, strip, PUT."""
        source = self.get(template).json()
        return self.put(name, clone_body(source, **inputs))

    def sim(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.base}/_sim/{path}", **kwargs)

    def stats(self) -> dict[str, Any]:
        return self.sim("GET", "stats").json()

    def clone_body(self, template: str, **inputs: str) -> dict[str, Any]:
        """The PUT body a client builds from a template's GET body."""
        return clone_body(self.get(template).json(), **inputs)


def clone_body(resource: dict[str, Any], **inputs: str) -> dict[str, Any]:
    """A PUT body from a GET body: read-only and system fields stripped, nulls dropped, inputs overridden."""
    props = {
        key: copy.deepcopy(value)
        for key, value in resource["properties"].items()
        if key not in ("status", "services") and value is not None
    }
    props["properties"] = {
        key: value
        for key, value in props.get("properties", {}).items()
        if not key.startswith(("azureml.", "mlflow.source.")) and key not in ("runSource", "runType")
    }
    for output in props.get("outputs", {}).values():
        output.pop("uri", None)  # the template's filled uri would make the clone write to its folder
    for key, value in inputs.items():
        props.setdefault("inputs", {})[key] = {"jobInputType": "literal", "value": value}
    return {"properties": props}


@pytest.fixture
def azure_ml(clock: VirtualClock) -> Iterator[SimServer]:
    with SimServer(create(clock), faults=FaultInjector(seed=1)) as server:
        yield server


@pytest.fixture
def ws(azure_ml: SimServer, http: requests.Session) -> Workspace:
    return Workspace(azure_ml, http)


@pytest.fixture
def make_workspace(clock: VirtualClock, http: requests.Session) -> Iterator[Any]:
    """A factory of Azure ML workspaces with platform options (e.g. strict=True); stopped at teardown."""
    servers: list[SimServer] = []

    def make(**options: Any) -> Workspace:
        server = SimServer(create(clock, **options), faults=FaultInjector(seed=1))
        servers.append(server)
        server.start()
        return Workspace(server, http)

    yield make
    for server in servers:
        server.stop()
