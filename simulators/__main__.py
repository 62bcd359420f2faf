"""Command line: `python -m simulators <platform> --port N [--clock real|virtual] [--time-scale K]
[--faults RATE] [--seed S] [--fault-kinds K,K] [--tls] [-o key=value ...]`.

Serves one simulator until interrupted. The first line on stdout is `<platform> simulator listening
on <url>`, so a test or script that starts it with `--port 0` can read the port. With `--tls` it
serves https with a fresh self-signed certificate, and the second line is `trust <ca file>` (point
REQUESTS_CA_BUNDLE / SSL_CERT_FILE at it: the Azure SDKs send bearer tokens over https only).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from datetime import datetime
from typing import Any

from devkit.clock import make_clock
from simulators.faults import FaultInjector
from simulators.registry import PLATFORMS, PlatformNotAvailable, create_server


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and `--help`)."""
    parser = argparse.ArgumentParser(prog="python -m simulators", description="Serve a platform simulator.")
    parser.add_argument("platform", choices=sorted(PLATFORMS), help="which platform to simulate")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="0 picks a free port; default: the platform's port")
    parser.add_argument("--clock", choices=("real", "virtual"), default="real")
    parser.add_argument("--time-scale", type=float, help="with --clock real: K simulated seconds per second")
    parser.add_argument("--origin", type=datetime.fromisoformat, help="clock origin (ISO time, with offset)")
    parser.add_argument("--faults", type=float, default=0.0, metavar="RATE", help="random fault rate, 0..1")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random faults")
    parser.add_argument("--fault-kinds", help="comma-separated kinds drawn by --faults (default: quick ones)")
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="platform option, e.g. -o page_size=5 -o strict=true (value parsed as JSON when it can be)",
    )
    parser.add_argument("--tls", action="store_true", help="serve https with a self-signed certificate")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs to keyword options; values are JSON when they parse, else strings."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"option {pair!r} is not KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (2: bad arguments or platform not available yet)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    try:
        kinds = args.fault_kinds.split(",") if args.fault_kinds else None
        faults = FaultInjector(rate=args.faults, seed=args.seed)
        faults.configure(kinds=kinds)
        clock = make_clock(args.clock, args.time_scale, args.origin)
        port = PLATFORMS[args.platform].default_port if args.port is None else args.port
        server = create_server(
            args.platform,
            clock,
            port=port,
            host=args.host,
            faults=faults,
            tls=args.tls,
            **parse_options(args.option),
        )
    except PlatformNotAvailable as exc:
        print(f"simulators: {exc}", file=sys.stderr)
        return 2
    except (TypeError, ValueError) as exc:
        print(f"simulators: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        url = server.start()
    except OSError as exc:
        print(f"simulators: cannot listen on {args.host}:{port}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.platform} simulator listening on {url}", flush=True)
    if server.ca_file is not None:
        print(f"trust {server.ca_file}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
