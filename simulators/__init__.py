"""Faithful local fakes of the platforms' REST APIs, served over real HTTP on 127.0.0.1.

The app never imports this package (DESIGN.md, "Layout"); devhost and tests do.

Shared framework:
- `simulators.routing`: `Request`, `Response`, `Route` (method + path with `{named}` segments +
  operation name + handler);
- `simulators.server`: `Platform` (the base class a simulator fills in) and `SimServer` (HTTP,
  bearer auth, fault injection, counters, the `/_sim` control routes);
- `simulators.faults`: `Fault`, `FaultKind`, `FaultInjector` (by seeded rate or by script);
- `simulators.lifecycle`: `Timeline`, statuses as a pure function of clock time;
- `simulators.tls`: a self-signed certificate for `SimServer(tls=True)` / `--tls` (the Azure SDKs
  send bearer tokens over https only; clients trust `SimServer.ca_file`);
- `simulators.registry`: `PLATFORMS` (name -> module, default port, from the simulator packages) and
  `create_server`.

Adding a platform (docs/adding-a-platform.md; e.g. `abacus`): write the package `simulators/abacus/` with

    class AbacusPlatform(Platform):
        name = "abacus"
        requires_bearer = False                      # Abacus authenticates with an `apiKey` header

        def routes(self):
            return [Route("POST", "/api/v0/runPipeline", "runPipeline", self.run_pipeline), ...]

        def error_response(self, request, status, message):
            return Response(status, {"success": False, "error": message, "errorType": "..."})

        def check(self, request):                    # auth and other refusals, before faults
            return None if request.header("apiKey") else self.error_response(request, 401, "...")

        def reset(self): ...                         # restore the seeded catalog
        def stats(self): return {"remoteJobsCreated": ..., "runningNow": ...}

    def create(clock, **options):
        return AbacusPlatform(clock, **options)

and `DEFAULT_PORT`, `SUMMARY`, `CONNECTION` and `connection_settings(url)` beside `create`. Then
`python -m simulators abacus --port 7103` and `create_server("abacus", clock).start()` work.

Control routes every simulator serves (never part of a real API, no auth):
`GET /_sim/stats`, `POST /_sim/reset`, `GET|POST|DELETE /_sim/faults`, `GET|POST /_sim/clock`.
"""

from simulators.faults import Fault, FaultInjector, FaultKind
from simulators.lifecycle import Timeline
from simulators.registry import PLATFORMS, PlatformNotAvailable, create_server, load_platform
from simulators.routing import Request, Response, Route
from simulators.server import Platform, SimServer, bearer_token

__all__ = [
    "PLATFORMS",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "Platform",
    "PlatformNotAvailable",
    "Request",
    "Response",
    "Route",
    "SimServer",
    "Timeline",
    "bearer_token",
    "create_server",
    "load_platform",
]
