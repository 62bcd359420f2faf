"""Run truth (issue 18 item 1): a run's record never goes backwards, across continue-as-new included.

Every state devhost commits is read back as `GET /api/runs/{id}` would read it (tests/support/run_truth.py),
so a record that is briefly older than the one the run carries (Starting, no remoteRunId, polls 0 after a
continue-as-new) is caught however short the window.
"""

from __future__ import annotations

from tests.support.run_truth import RecordWatcher, check_run_truth


def test_a_long_pipeline_never_reads_older_across_continue_as_new(stack):
    watcher = RecordWatcher(stack.host, stack.front.management)
    body = {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "long-pipeline", "runId": "truth-1",
            "parameters": [], "timeout": "PT12H"}
    assert stack.post_run(body).status_code == 202
    run = stack.wait_run("truth-1")
    assert run["status"] == "Success" and run["polls"] > 30  # at least one continue-as-new
    records = watcher.records["truth-1"]
    assert len(records) > run["polls"]
    check_run_truth(records)
