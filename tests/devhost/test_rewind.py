"""Rewind (POST instances/{id}/rewind, the client's rewind()): a Failed instance runs its failed activities
again and continues from there (durable-functions.md §2.4); what devhost does not rewind is refused."""

from __future__ import annotations

import pytest
import requests

from .conftest import FUNCTION_KEY


def rewind(served, instance_id: str) -> requests.Response:
    return requests.post(f"{served.base_url}/runtime/webhooks/durabletask/instances/{instance_id}/rewind",
                         params={"reason": "try again", "code": FUNCTION_KEY}, timeout=10)


def test_a_failed_activity_runs_again_and_the_instance_completes(served):
    instance_id = served.start("fragile", "rewound:1", "fragile-1")
    failed = served.wait(instance_id)
    assert failed.status == "Failed" and "rewound attempt 1 failed" in failed.output
    served.run(served.client().rewind(instance_id, "try again"))
    done = served.wait(instance_id)
    assert (done.status, done.output) == ("Completed", [2, "rewound ok after 2"])
    kinds = served.history_types(instance_id)
    assert "TaskFailed" not in kinds and kinds.count("GenericEvent") == 1
    assert kinds.count("TaskScheduled") == 2 and kinds.count("ExecutionCompleted") == 1


def test_rewind_answers_404_unknown_410_completed_and_202_running(served):
    assert rewind(served, "nobody").status_code == 404
    done = served.start("chain", {"n": 1})
    served.wait(done)
    assert rewind(served, done).status_code == 410
    waiting = served.start("late_waiter", None)
    assert rewind(served, waiting).status_code == 202
    assert served.host.get(waiting).status in ("Pending", "Running")


@pytest.mark.parametrize(("orchestrator", "why"), [("failing_child_parent", "sub-orchestrations")])
def test_what_devhost_does_not_rewind_is_refused_naming_it(served, orchestrator, why):
    instance_id = served.start(orchestrator, None)
    assert served.wait(instance_id).status == "Failed"
    response = rewind(served, instance_id)
    assert response.status_code == 501 and why in response.json()["Message"]
    assert served.host.get(instance_id).status == "Failed"
