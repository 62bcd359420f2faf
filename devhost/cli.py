"""`python -m devhost serve ...`: run a Functions app folder locally with the embedded host."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from devkit.clock import Clock, make_clock

from .app_loader import AppLoadError
from .azurite import SERVICES, Azurite, AzuriteError, azurite_unavailable, free_well_known_ports
from .eventgrid import WEBHOOK_PATH
from .host import DevHost
from .http_server import HttpFrontDoor
from .local_settings import FILE_NAME, LocalSettingsError, apply_local_settings
from .queue_service import QueueService
from .queues import STORAGE_SETTING

if TYPE_CHECKING:
    from simulators.event_sinks import EventSinks

DEFAULT_APP = Path(__file__).resolve().parent.parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devhost",
                                     description="Embedded Durable Functions host for Python apps.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve an app folder on loopback")
    serve.add_argument("--app", default=str(DEFAULT_APP), help="folder holding function_app.py (default: runbridge)")
    serve.add_argument("--port", type=int, default=7071)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1); requests must name it or a loopback "
                            "name in their Host header")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="another Host header name to answer to (repeatable; '*' answers to any: only "
                            "with --function-key on a trusted network)")
    serve.add_argument("--db", default=None, help="SQLite file for instances and history (default: <app>/.devhost/)")
    serve.add_argument("--clock", choices=("real", "virtual"), default="real")
    serve.add_argument("--time-scale", type=float, default=None,
                       help="with --clock real: simulated seconds per second")
    serve.add_argument("--time-origin", default=None,
                       help="ISO time the scaled clock counts from (share it between processes)")
    serve.add_argument("--function-key", default=os.environ.get("DEVHOST_FUNCTION_KEY"),
                       help="require this key on FUNCTION/ADMIN-level routes (default: no key, as Core Tools)")
    serve.add_argument("--simulate", action="store_true",
                       help="also start the platform simulators and their connections")
    serve.add_argument("--sim-ports", default=None,
                       help="with --simulate: azure_ml,foundry_agents,abacus ports (default 7101,7102,7103; 0 = any)")
    serve.add_argument("--event-sinks", action="store_true",
                       help="start a webhook receiver and an Event Grid topic simulator on loopback and configure the "
                            "sinks scheduler (webhook), grid (eventgrid) and queue (runbridge-events on the app's "
                            "storage) so every run's events are delivered locally")
    serve.add_argument("--azurite", action="store_true",
                       help="start Azurite (npm package azurite) on loopback with its data in a temp folder and "
                            "point AzureWebJobsStorage at it, so queue triggers read Azure Storage queues")
    serve.add_argument("--verbose", "-v", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    origin = datetime.fromisoformat(args.time_origin.replace("Z", "+00:00")) if args.time_origin else None
    clock = make_clock(args.clock, args.time_scale, origin)
    app_dir = Path(args.app).resolve()
    db = args.db or str(app_dir / ".devhost" / "devhost.sqlite")
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    simulation = None
    if args.simulate:
        try:
            from simulators.embedded import start_simulation  # optional: only with the simulators package
        except ImportError:
            print("--simulate: the platform simulators are not available in this checkout", file=sys.stderr)
            return 2
        ports = None
        if args.sim_ports:
            values = [int(p) for p in args.sim_ports.split(",")]
            values += [values[-1]] * (3 - len(values))
            ports = dict(zip(("azure_ml", "foundry_agents", "abacus"), values, strict=False))
        simulation = start_simulation(clock, os.environ, ports=ports, events=True)
        for platform, server in simulation.servers.items():
            print(f"  simulator {platform}: {server.url}")
    try:
        applied = apply_local_settings(app_dir)
    except LocalSettingsError as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 2
    if applied is not None:
        print(f"  {FILE_NAME}: {len(applied.set)} values set"
              + (f"; kept from the environment: {', '.join(applied.kept)}" if applied.kept else "")
              + (f"; ConnectionStrings not applied (read Values instead): "
                 f"{', '.join(applied.ignored_connection_strings)}" if applied.ignored_connection_strings else ""))
    azurite = _start_azurite() if args.azurite else None
    try:
        host = DevHost(app_dir, db_path=db, clock=clock)
    except (AppLoadError, ValueError, RuntimeError) as exc:  # a malformed AzureWebJobsStorage, no SDK
        print(f"devhost: {exc}", file=sys.stderr)
        if azurite is not None:
            azurite.stop()
        return 2
    if host.queues.remote:
        # The storage SDK logs every HTTP request at INFO: queue polling would drown the host's own log.
        logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
        queue_service = None
    else:
        # The app writes storage queues itself (event sinks, the undelivered events): give it the embedded ones.
        queue_service = QueueService(host).start()
        queue_service.use_as_app_storage(os.environ)
    sinks = _start_event_sinks(clock) if args.event_sinks else None
    front = HttpFrontDoor(host, port=args.port, bind=args.host, function_key=args.function_key,
                          allowed_hosts=tuple(args.allow_host))
    host.start()
    front.start()
    print(f"devhost serving {app_dir} at {front.base_url} (clock {args.clock}"
          f"{f', x{args.time_scale:g}' if args.time_scale else ''}; db {db})", flush=True)
    for route in host.app.routes:
        methods = ",".join(sorted(route.methods)) or "ANY"
        print(f"  {route.function.name}: [{methods}] {front.base_url}/{host.app.route_prefix}/{route.template}")
    for name in sorted(host.app.orchestrators):
        print(f"  {name}: orchestrationTrigger")
    for name in sorted(host.app.activities):
        print(f"  {name}: activityTrigger")
    for function in host.app.queue_triggers + host.app.timer_triggers:
        print(f"  {function.name}: {function.trigger_type}")
    for name in sorted(host.app.eventgrid_triggers):
        print(f"  {name}: eventGridTrigger at {front.base_url}{WEBHOOK_PATH}?functionName={name}")
    if simulation is not None and host.app.eventgrid_triggers:
        # the Azure ML simulator's system topic delivers to the app's (first) Event Grid function
        name = sorted(host.app.eventgrid_triggers)[0]
        key = f"&code={args.function_key}" if args.function_key else ""
        simulation.subscribe_events(f"{front.base_url}{WEBHOOK_PATH}?functionName={name}{key}")
    if host.app.queue_triggers:
        where = (f"Azure Storage queues at {getattr(host.queues, 'url', '?')}" if host.queues.remote
                 else "the embedded queue (no AzureWebJobsStorage setting)")
        print(f"  queue triggers read {where}")
    if queue_service is not None:
        print(f"  the app's storage queues: the embedded queue's Queue service endpoint {queue_service.endpoint}")
    if sinks is not None:
        print(f"  events: webhook {sinks.receiver.url} (GET it for what it took), Event Grid topic "
              f"{sinks.topic_endpoint} (GET {sinks.topic_server.url}/_sim/events), queue runbridge-events")
    # SIGTERM interrupts the wait like Ctrl-C. (Setting the Event from the handler could deadlock: the
    # handler runs on the main thread, which may hold the Event's lock inside wait().)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # shutting down already; let it finish
    front.stop()
    host.stop()
    if queue_service is not None:
        queue_service.stop()
    if sinks is not None:
        sinks.stop()
    if simulation is not None:
        simulation.stop()
    if azurite is not None:
        azurite.stop()
    return 0


def _start_event_sinks(clock: Clock) -> EventSinks | None:
    try:
        from simulators.event_sinks import start_event_sinks  # optional: only with the simulators package
    except ImportError:
        print("--event-sinks: the simulators are not available in this checkout", file=sys.stderr)
        return None
    return start_event_sinks(clock, os.environ, queue=True)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _start_azurite() -> Azurite | None:
    """Start Azurite and set AzureWebJobsStorage to it; without Node/Azurite, say so and keep the embedded queue."""
    reason = azurite_unavailable(SERVICES)
    if reason:
        print(f"--azurite: {reason}; queue triggers use the embedded queue instead", file=sys.stderr)
        return None
    azurite = Azurite(SERVICES, ports=free_well_known_ports(SERVICES))
    try:
        azurite.start()
    except AzuriteError as exc:
        print(f"--azurite: {exc}\nqueue triggers use the embedded queue instead", file=sys.stderr)
        return None
    os.environ[STORAGE_SETTING] = azurite.connection_string
    endpoints = ", ".join(f"{service} {url}" for service, url in azurite.endpoints.items())
    print(f"  azurite: {endpoints} (data in {azurite.location}, removed on exit)")
    print(f"  {STORAGE_SETTING}={azurite.connection_string}")
    return azurite
