"""SIGKILLs during event delivery lose no event: devhost kills itself right after a hand-off or a delivery
reached the receiver but before its result was stored (devhost/crash_points.py), restarts on the same SQLite
file, and every run's events still arrive: after dropping repeats by id, each run's sequence is 1..n with
no gap, each event's previousStatus is the status before it, and the last is the status the run ended in.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
import time
from collections import Counter

from devhost.crash_points import SETTING
from simulators.webhook_receiver import WebhookReceiver
from tests.notify.conftest import check_schema, dedupe

from .support import call, request_for, scaled_stack, wait_runs

SCALE = 600.0
RUNS = [(f"evcrash-{i}-{kind}", kind) for i, kind in enumerate(["agent-echo", "aml-train"] * 4)]
POINTS = ("activity_done:publish_events", "activity_done:deliver_events")
DEADLINE = 90.0
SECRET = "whsec_" + base64.b64encode(b"crash-test-secret-crash-test-sec").decode()
CRASH_LINE = re.compile(r"devhost: crash point (\S+) reached in (\S+)")


def assert_status_chain(events: list[dict], final: str) -> None:
    """A run's events, repeats dropped: sequence 1..n, each change follows the one before, ends at `final`."""
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1)), [e["id"] for e in events]
    changes = [e["data"] for e in events if e["type"] == "runbridge.run.statusChanged"]
    assert changes[0]["previousStatus"] is None and changes[0]["status"] == "Starting"
    for before, after in itertools.pairwise(changes):
        assert after["previousStatus"] == before["status"] != after["status"]
    assert changes[-1]["status"] == final


def test_sigkill_right_after_a_hand_off_or_a_delivery_loses_no_event(tmp_path, monkeypatch):
    receiver = WebhookReceiver(SECRET).start()
    monkeypatch.setenv("NOTIFY__hook__type", "webhook")
    monkeypatch.setenv("NOTIFY__hook__url", receiver.url)
    monkeypatch.setenv("NOTIFY__hook__secret", SECRET)
    armed = {SETTING: ",".join(POINTS)}
    kills: Counter[str] = Counter()
    try:
        with scaled_stack(tmp_path, SCALE, armed) as (_, devhost):
            deadline = time.monotonic() + DEADLINE

            def post_all() -> None:  # a kill may land during these calls: `call` waits for the restart
                for index, (run_id, kind) in enumerate(RUNS):
                    call(devhost, "POST", "/api/runs", deadline, json=request_for(kind, run_id, index))

            poster = threading.Thread(target=post_all, daemon=True)
            poster.start()
            while len(kills) < len(POINTS) and time.monotonic() < deadline:
                code = devhost.wait_exit(timeout=0.2)
                if code is None:
                    continue
                assert code == -9, devhost.log.read_text()[-2000:]
                point, _ = CRASH_LINE.findall(devhost.log.read_text())[-1]
                kills[point] += 1
                devhost.start({SETTING: ",".join(p for p in POINTS if not kills[p])})
            poster.join(timeout=max(0.0, deadline - time.monotonic()))
            runs = wait_runs(devhost, [run_id for run_id, _ in RUNS], deadline)
            assert len(runs) == len(RUNS)

            def complete() -> bool:
                got = dedupe(receiver.events())
                return all(len(got.get(f"runs/{r}", [])) >= 1 and got[f"runs/{r}"][-1]["data"]["status"]
                           == runs[r]["status"] and got[f"runs/{r}"][-1]["type"].endswith("statusChanged")
                           for r in runs)

            while not complete() and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        receiver.stop()
    assert set(kills) == set(POINTS), kills
    got = dedupe(receiver.events())
    for run_id, run in runs.items():
        assert_status_chain(got[f"runs/{run_id}"], run["status"])
    assert all(d["verified"] is None for d in receiver.deliveries)
    check_schema(receiver.events())
    repeats = len(receiver.events()) - sum(len(v) for v in got.values())
    print(f"\nevent crash: kills {dict(kills)}, {len(receiver.events())} deliveries, {repeats} repeats")
