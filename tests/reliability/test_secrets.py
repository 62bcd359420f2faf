"""Secrets: a marker Abacus API key and a marker bearer token (the local credential's, monkeypatched) are
used by runs of every job type (successes, failures, a refused key, a cancel, faults) and never appear in
devhost's SQLite event log (the db file and its -wal), any instance's custom status, the logs at DEBUG or
any HTTP response of the API."""

from __future__ import annotations

import glob
import logging
import time
from pathlib import Path
from typing import Any

import requests

from platforms import auth

from .support import request_for, write_figures

KEY = "KEYMARKER-reliability-5e1f2a9c"
WRONG_KEY = "KEYMARKER-reliability-wrong-77d0"
TOKEN = "TOKENMARKER-reliability-c0ffee42"


def test_marker_key_and_token_never_leave_their_headers(stack, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(auth.LocalDevCredential, "get_token",
                        lambda self, *scopes, **kwargs: auth.AccessToken(TOKEN, int(time.time()) + 3600))
    stack.simulation.servers["abacus"].platform.api_keys = frozenset({KEY})
    monkeypatch.setenv("CONNECTIONS__abacus-sim__apiKey", KEY)
    for key, value in {"type": "abacus", "endpoint": stack.sim("abacus"), "apiKey": WRONG_KEY}.items():
        monkeypatch.setenv(f"CONNECTIONS__abacus-bad__{key}", value)
    seen: list[str] = []
    for name in ("azure_ml", "foundry_agents"):
        server = stack.simulation.servers[name]
        dispatch = server.dispatch

        def spy(request, dispatch=dispatch):
            seen.append(request.header("authorization") or "")
            return dispatch(request)

        monkeypatch.setattr(server, "dispatch", spy)
    bodies: list[str] = []

    def keep(response: requests.Response) -> requests.Response:
        bodies.append(response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items()))
        return response

    kinds = ["aml-train", "aml-fail", "agent-echo", "abacus-train", "abacus-fail"]
    run_ids = [f"secret-{kind}" for kind in kinds]
    for index, (run_id, kind) in enumerate(zip(run_ids, kinds, strict=True)):
        keep(stack.post_run(request_for(kind, run_id, index)))
    refused = keep(stack.post_run({**request_for("abacus-train", "secret-401", 9), "connection": "abacus-bad"}))
    keep(stack.post_run({**request_for("aml-train", "secret-bad"), "job": "no-such-template"}))
    stack.script_faults("azure_ml", {"rate": 0.2, "seed": 3, "kinds": ["throttle", "server_error", "drop"]})
    keep(stack.post_run(request_for("agent-slow", "secret-cancel")))
    keep(requests.post(f"{stack.api}/runs/secret-cancel/cancel", timeout=10))
    runs = {run_id: stack.wait_run(run_id, timeout=120) for run_id in [*run_ids, "secret-cancel"]}
    for run_id in runs:
        keep(requests.get(f"{stack.api}/runs/{run_id}", timeout=10))
        keep(requests.get(f"{stack.api}/runs/{run_id}/history", timeout=10))
        keep(requests.post(f"{stack.api}/runs/{run_id}/cancel", timeout=10))
    keep(requests.get(f"{stack.api}/runs", params={"pageSize": 100}, timeout=10))
    keep(requests.get(f"{stack.api}/connections", timeout=10))
    for connection in ("azureml-sim", "foundry-sim", "abacus-sim", "abacus-bad"):
        keep(requests.get(f"{stack.api}/connections/{connection}/jobs", timeout=30))
    stack.host.wait_idle()

    stored = b"".join(Path(path).read_bytes() for path in sorted(glob.glob(f"{stack.host.store.path}*")))
    statuses = [str(row.custom_status) for row in stack.host.store.query(limit=1000)]
    logs = "\n".join(record.getMessage() + str(record.args) + str(record.exc_text) for record in caplog.records)
    places: dict[str, Any] = {"sqlite (db, -wal, -shm)": stored, "custom status": "\n".join(statuses),
                              "logs (DEBUG)": logs, "HTTP responses": "\n".join(bodies)}
    leaks = {place: [marker for marker in (KEY, WRONG_KEY, TOKEN)
                     if (marker.encode() if isinstance(text, bytes) else marker) in text]
             for place, text in places.items()}
    figures = write_figures("secrets", {
        "runs": len(runs), "outcomes": {run_id: run["status"] for run_id, run in runs.items()},
        "httpResponsesScanned": len(bodies), "logRecordsScanned": len(caplog.records),
        "sqliteBytesScanned": len(stored), "tokenRequestsSeen": sum(TOKEN in header for header in seen),
        "leaks": {place: found for place, found in leaks.items() if found},
        "faultsInjected": stack.sim_stats("azure_ml")["faultsInjected"],
    })
    assert figures["tokenRequestsSeen"] > 0  # the marker token was really used
    assert runs["secret-abacus-train"]["status"] == "Success"  # so was the marker key
    assert refused.status_code == 502 and stack.host.get("secret-401") is None  # a refused key starts nothing
    assert figures["leaks"] == {}
