"""Many runs of every kind on the virtual clock: after dropping repeats by id, each run's events give exactly the
statuses the run went through (its timeline, from its own history), with sequence 1..n and no gap.
bench/events.py does the same for 1,000 runs; this keeps the suite lean with RUNS."""

from __future__ import annotations

import requests

from tests.e2e.conftest import train_request

from .conftest import check_schema, dedupe
from .test_sinks_e2e import agent_request, wait_for

RUNS = 12


def request(index: int) -> dict:
    run_id = f"many-{index:03d}"
    kind = index % 4
    if kind == 0:
        return agent_request(run_id)
    if kind == 1:
        return train_request(run_id)
    if kind == 2:
        return train_request(run_id, job="failing-pipeline", parameters=[])
    return {"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simtrain01", "runId": run_id,
            "parameters": [{"name": "learning_rate", "value": f"0.{index + 1}", "direction": "Input"},
                           {"name": "epochs", "value": "2", "direction": "Input"}]}


def lived(stack, run_id: str) -> list[str]:
    """The statuses a run went through, from its timeline (its Durable history), repeats collapsed."""
    timeline = requests.get(f"{stack.api}/runs/{run_id}/history", timeout=30).json()["timeline"]
    statuses = ["Starting"] + [p["status"] for p in timeline if p.get("status") and p["kind"] in ("poll", "ended")]
    return [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]


def test_every_run_s_events_are_exactly_the_statuses_it_went_through(sinks, stack):
    bodies = [request(i) for i in range(RUNS)]
    for body in bodies:
        assert stack.post_run(body).status_code == 202
    finals = {body["runId"]: stack.wait_run(body["runId"], timeout=120)["status"] for body in bodies}
    assert set(finals.values()) == {"Success", "Failed"}
    got = wait_for(lambda: (d := dedupe(sinks.webhook.events())) and all(
        d.get(f"runs/{r}") and d[f"runs/{r}"][-1]["data"]["status"] == s
        and d[f"runs/{r}"][-1]["type"].endswith("statusChanged") for r, s in finals.items()) and d, timeout=60)
    for run_id in finals:
        events = got[f"runs/{run_id}"]
        assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
        changes = [e["data"]["status"] for e in events if e["type"].endswith("statusChanged")]
        assert changes == lived(stack, run_id), run_id
    check_schema(sinks.webhook.events())
    assert dedupe(sinks.topic.received) == got
