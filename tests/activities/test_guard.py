"""No activity ever raises to the orchestrator: every failure is answered as a typed error (issue 18 item 2).

Before the guard, poll, cancel and outputs raised ValidationError for a connection that is gone, which
failed the whole run (InternalError) while its remote job kept running.
"""

from __future__ import annotations

import pytest

from activities import runs
from core.connections import Connection, ConnectionType
from core.protocol import ActivityError, Polled
from core.status import ErrorCode
from platforms.http import ErrorKind, PlatformError

REQUEST = {"jobType": "azureml_pipeline", "connection": "ml-prod", "job": "template", "runId": "r1",
           "parameters": [], "timeout": "PT1H", "startTimeout": "PT1H"}
CALL = {"request": REQUEST, "remoteRunId": "runbridge-r1", "createdAt": "2026-03-01T00:00:00+00:00"}
ACTIVITIES = {name: getattr(runs, name)._function._func for name in ("submit_run", "poll_run", "cancel_run",
                                                                      "read_outputs")}
CONNECTION = Connection("ml-prod", ConnectionType.AZURE_ML, {"subscriptionId": "s", "workspace": "now-ws",
                                                            "clientId": "id-now"})


class Failing:
    """A platform client whose every verb fails with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise self.error
        return fail


@pytest.mark.parametrize("name", ACTIVITIES)
def test_a_connection_that_is_gone_is_answered_as_connection_not_configured(name, monkeypatch):
    monkeypatch.setattr(runs, "get_connection", lambda name: None)
    answer = ActivityError.from_dict(ACTIVITIES[name](CALL))
    assert answer.code == ErrorCode.CONNECTION_NOT_CONFIGURED.value and not answer.transient
    assert "ml-prod" in answer.error.message


@pytest.mark.parametrize("name", ACTIVITIES)
def test_a_bug_is_answered_as_an_internal_error_not_raised(name, monkeypatch):
    monkeypatch.setattr(runs, "get_connection", lambda name: CONNECTION)
    monkeypatch.setattr(runs, "client_for", lambda connection: Failing(KeyError("boom")))
    answer = ActivityError.from_dict(ACTIVITIES[name](CALL))
    assert answer.code == ErrorCode.INTERNAL_ERROR.value and "boom" not in answer.error.message


@pytest.mark.parametrize("name", ACTIVITIES)
def test_a_transient_platform_failure_is_answered_with_its_retry_after(name, monkeypatch):
    monkeypatch.setattr(runs, "get_connection", lambda name: CONNECTION)
    throttled = PlatformError(ErrorKind.THROTTLED, "slow down", http_status=429, retry_after=30)
    monkeypatch.setattr(runs, "client_for", lambda connection: Failing(throttled))
    answer = ActivityError.from_dict(ACTIVITIES[name](CALL))
    assert answer.transient and answer.retry_after == 30


def test_a_platform_refusing_a_poll_is_a_refusal_for_the_policy_to_confirm_not_an_end(monkeypatch):
    # one stray 404 about the run's own job is not believed at once (issue 19): the poll policy re-checks it
    monkeypatch.setattr(runs, "get_connection", lambda name: CONNECTION)
    gone = PlatformError(ErrorKind.NOT_FOUND, "no such job", http_status=404)
    monkeypatch.setattr(runs, "client_for", lambda connection: Failing(gone))
    answer = Polled.from_dict(ACTIVITIES["poll_run"](CALL))
    assert isinstance(answer, ActivityError) and answer.refused and not answer.transient
    assert answer.code == ErrorCode.NOT_FOUND.value


def test_calls_after_submit_go_where_the_job_lives_with_todays_identity(monkeypatch):
    seen = []
    monkeypatch.setattr(runs, "get_connection", lambda name: CONNECTION)
    monkeypatch.setattr(runs, "client_for", lambda connection: seen.append(connection) or Failing(KeyError()))
    ACTIVITIES["poll_run"]({**CALL, "coordinates": {"workspace": "then-ws", "clientId": "id-then", "apiKey": "k"}})
    assert seen[0].settings["workspace"] == "then-ws"  # bound to where the job was made
    assert seen[0].settings["clientId"] == "id-now" and "apiKey" not in seen[0].settings  # identity: resolved now
