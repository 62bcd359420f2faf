"""Azurite, the Azure Storage emulator (npm package `azurite`), started on loopback for devhost and tests.

`make setup` installs the version pinned in package.json into node_modules/ when npm exists. Azurite
listens on 127.0.0.1 only, keeps its data in a folder of its own (a temp folder unless one is given) and
is reached with its well-known development account: the name and key below are Azurite's public,
documented defaults, not a secret.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SERVICES = ("blob", "queue", "table")
WELL_KNOWN_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
# "Azurite Queue service successfully listens on http://..." (azurite-queue) or "... is successfully
# listening at http://..." (azurite).
_LISTENING = re.compile(r"Azurite (\w+) service (?:is )?successfully listen\w* (?:on|at) (https?://\S+)")


class AzuriteError(RuntimeError):
    """Azurite is installed but did not start."""


def azurite_command(services: tuple[str, ...] = ("queue",), root: Path = REPO_ROOT) -> list[str] | None:
    """The command that runs Azurite for `services`: the repo's node_modules first, then PATH; None if missing."""
    if shutil.which("node") is None:
        return None
    name = "azurite" if len(services) > 1 else f"azurite-{services[0]}"
    local = root / "node_modules" / ".bin" / (name + (".cmd" if os.name == "nt" else ""))
    if local.exists():
        return [str(local)]
    found = shutil.which(name)
    return [found] if found else None


def azurite_unavailable(services: tuple[str, ...] = ("queue",), root: Path = REPO_ROOT) -> str | None:
    """Why Azurite cannot run here (None when it can): what a skipped test or `serve --azurite` says."""
    if shutil.which("node") is None:
        return "Node.js is not installed (Azurite runs on Node; install Node.js 20+ with npm, then `make setup`)"
    if azurite_command(services, root) is None:
        return "Azurite is not installed: `make setup` (or `npm ci`) installs it into node_modules/"
    return None


def connection_string(endpoints: dict[str, str]) -> str:
    """An AzureWebJobsStorage connection string for the development account at these service URLs."""
    parts = ["DefaultEndpointsProtocol=http", f"AccountName={ACCOUNT}", f"AccountKey={ACCOUNT_KEY}"]
    parts += [f"{service.capitalize()}Endpoint={url.rstrip('/')}/{ACCOUNT}" for service, url in endpoints.items()]
    return ";".join(parts) + ";"


class Azurite:
    """One Azurite process. Port 0 (the default) lets Azurite pick free ports; `endpoints` says which."""

    def __init__(self, services: tuple[str, ...] = ("queue",), *, location: str | Path | None = None,
                 ports: dict[str, int] | None = None, host: str = "127.0.0.1", root: Path = REPO_ROOT) -> None:
        unknown = set(services) - set(SERVICES)
        if unknown or not services:
            raise ValueError(f"services must be some of {', '.join(SERVICES)}")
        self.services = tuple(s for s in SERVICES if s in services)
        self.host = host
        self.ports = {s: (ports or {}).get(s, 0) for s in self.services}
        self.root = root
        self._own_location = location is None
        self.location = Path(location) if location else Path(tempfile.mkdtemp(prefix="devhost-azurite-"))
        self.endpoints: dict[str, str] = {}
        self.process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=50)

    @property
    def connection_string(self) -> str:
        return connection_string(self.endpoints)

    def start(self, timeout: float = 30.0) -> Azurite:
        """Start Azurite and wait until every service listens; AzuriteError if it does not."""
        command = azurite_command(self.services, self.root)
        if command is None:
            raise AzuriteError(azurite_unavailable(self.services, self.root) or "Azurite is not installed")
        self.location.mkdir(parents=True, exist_ok=True)
        # Storage SDKs newer than the installed Azurite send API versions it does not know yet; an app's own
        # client (a sample's BlobServiceClient) picks its version, so Azurite must not refuse it.
        args = [*command, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--location", str(self.location)]
        for service in self.services:
            args += [f"--{service}Host", self.host, f"--{service}Port", str(self.ports[service])]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        ready = threading.Event()
        threading.Thread(target=self._read_output, args=(ready,), name="azurite-output", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = "\n".join(self._output)
                self.stop()
                raise AzuriteError(f"Azurite did not start ({' '.join(command)}):\n{output}")
        return self

    def _read_output(self, ready: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:  # drained until Azurite exits, so its pipe never fills
            self._output.append(line.rstrip())
            match = _LISTENING.search(line)
            if match and match.group(1).lower() in self.services:
                self.endpoints[match.group(1).lower()] = match.group(2)
                if set(self.endpoints) == set(self.services):
                    ready.set()

    def stop(self) -> None:
        """Stop Azurite (the process this object started) and remove its temp data folder."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._own_location:
            shutil.rmtree(self.location, ignore_errors=True)

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_well_known_ports(services: tuple[str, ...]) -> dict[str, int] | None:
    """Azurite's usual ports (10000-10002) when all are free here, else None."""
    ports = {s: WELL_KNOWN_PORTS[s] for s in services}
    for port in ports.values():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return None
    return ports


__all__ = ["ACCOUNT", "ACCOUNT_KEY", "Azurite", "AzuriteError", "azurite_command", "azurite_unavailable",
           "connection_string", "free_well_known_ports"]

