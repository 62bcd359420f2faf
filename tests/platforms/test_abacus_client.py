"""The Abacus client against the simulator over real HTTP, checked against reference/abacus-pipelines.md."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

import simulators.abacus as sim_abacus
from core.connections import load_connections
from core.errors import ValidationError
from core.parameters import Direction, Parameter
from core.run_request import RunRequest
from core.status import ErrorCode, RunStatus, map_status
from devkit.clock import VirtualClock
from platforms.abacus import client as abacus_client
from platforms.abacus.client import STATUS_TABLE, create_client
from platforms.abacus.variables import ARGUMENT_TYPES, CONVERSIONS, Variable, build_mappings, convert
from platforms.abacus.wire import ERROR_KINDS, classify, read_result
from platforms.http import ErrorKind, PlatformError
from simulators.registry import create_server

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
KEY = "sim-abacus-key"
# Every version/step status §3 names: the documented ones, the likely skipped and cancelled words, and
# the success word of newer Abacus objects.
REFERENCE_STATUSES = ["PENDING", "RUNNING", "COMPLETE", "FAILED", "SKIPPED", "CANCELLED", "COMPLETED"]


class Sim:
    def __init__(self, clock: VirtualClock, url: str) -> None:
        self.clock, self.url = clock, url

    def connection(self, key: str = KEY, **settings: str):
        env = {"CONNECTIONS__ab__type": "abacus", "CONNECTIONS__ab__endpoint": self.url, "CONNECTIONS__ab__apiKey": key}
        env.update({f"CONNECTIONS__ab__{k}": v for k, v in settings.items()})
        return load_connections(env)["ab"]

    def client(self, key: str = KEY, **settings: str):
        return create_client(self.connection(key, **settings))

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_sim/stats", timeout=5).json()

    def created(self) -> int:
        return self.stats()["pipelineVersionsCreated"]

    def fault(self, **fault: Any) -> None:
        assert requests.post(f"{self.url}/_sim/faults", json=fault, timeout=5).status_code == 200

    def answer(self, **answer: Any) -> None:
        assert requests.post(f"{self.url}/_sim/answers", json=answer, timeout=5).status_code == 200

    def version(self, version_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/api/v0/describePipelineVersion", params={"pipelineVersion": version_id},
                                headers={"apiKey": KEY}, timeout=5)
        return response.json()["result"]


@pytest.fixture
def sim():
    clock = VirtualClock(T0)
    server = create_server("abacus", clock, port=0)
    url = server.start()
    yield Sim(clock, url)
    server.stop()


@pytest.fixture
def client(sim):
    return sim.client()


def run_request(job: str = "simtrain01", run_id: str = "r1", created_at: datetime | None = T0,
                **values: str) -> RunRequest:
    params = tuple(Parameter(k, Direction.INPUT, v) for k, v in values.items())
    request = RunRequest("abacus_pipeline", "ab", job, (*params, Parameter("model_id", Direction.OUTPUT)), run_id)
    return request.with_created_at(created_at)


# ---- statuses ----------------------------------------------------------------------------------------

def test_every_reference_status_is_in_the_table_and_maps_as_documented():
    assert set(STATUS_TABLE) == set(REFERENCE_STATUSES)
    assert STATUS_TABLE["PENDING"] is RunStatus.STARTING and STATUS_TABLE["RUNNING"] is RunStatus.RUNNING
    assert STATUS_TABLE["COMPLETE"] is RunStatus.SUCCESS and STATUS_TABLE["FAILED"] is RunStatus.FAILED
    assert STATUS_TABLE["SKIPPED"] is RunStatus.CANCELLED and STATUS_TABLE["CANCELLED"] is RunStatus.CANCELLED
    assert STATUS_TABLE["COMPLETED"] is RunStatus.UNKNOWN  # only COMPLETE is success (client 4)
    for status in (sim_abacus.PENDING, sim_abacus.RUNNING, sim_abacus.COMPLETE, sim_abacus.FAILED,
                   sim_abacus.DEFAULT_SKIPPED):
        assert status in STATUS_TABLE
    assert map_status(STATUS_TABLE, "complete") is RunStatus.SUCCESS
    assert map_status(STATUS_TABLE, "TIMED_OUT") is RunStatus.UNKNOWN


def test_an_undocumented_status_is_unknown_and_shown_as_it_is(sim, client):
    submitted = client.submit(run_request(), "r1")
    pinned = requests.post(f"{sim.url}/_sim/versions/{submitted.remote_run_id}/status", json={"status": "TIMED_OUT"},
                           timeout=5)
    assert pinned.status_code == 200
    state = client.get_state(submitted.remote_run_id)
    assert (state.status, state.remote_status, state.error_code) == (RunStatus.UNKNOWN, "TIMED_OUT", None)


# ---- the conversion table -----------------------------------------------------------------------------

def test_the_table_covers_every_argument_type_of_the_reference():
    assert set(CONVERSIONS) == set(ARGUMENT_TYPES) == set(sim_abacus.ARGUMENT_TYPES)


@pytest.mark.parametrize(
    ("variable_type", "text", "sent"),
    [
        ("INTEGER", "10", 10),
        ("INTEGER", " -3 ", -3),
        ("INTEGER", "+7", 7),
        ("INTEGER", "10.0", 10),  # a JSON number 10.0, as core.parameters renders it
        ("INTEGER", "1e3", 1000),
        ("INTEGER", "9223372036854775807", 2**63 - 1),
        ("FLOAT", "0.01", 0.01),
        ("FLOAT", "1e-05", 1e-05),
        ("FLOAT", "3", 3.0),
        ("FLOAT", ".5", 0.5),
        ("BOOLEAN", "true", True),
        ("BOOLEAN", "False", False),
        ("STRING", "", ""),
        ("STRING", " keep  spaces ", " keep  spaces "),
        ("STRING", "42", "42"),
        ("ATTACHMENT", "report.pdf", "report.pdf"),
        ("JSON", '{"a": [1, 2], "b": null}', {"a": [1, 2], "b": None}),
        ("LIST", '["x", 2]', ["x", 2]),
        ("LIST", "[]", []),
        ("DATASET_ID", " ds1234abcd ", "ds1234abcd"),
        ("MODEL_ID", "m1", "m1"),
        ("FEATURE_GROUP_ID", "fg1", "fg1"),
        ("MONITOR_ID", "mon1", "mon1"),
        ("BATCH_PREDICTION_ID", "bp1", "bp1"),
        ("DEPLOYMENT_ID", "dep1", "dep1"),
        ("FEATURE_GROUP", "fg_name", "fg_name"),
        ("integer", "5", 5),  # type names compare ignoring case, as the SDK's ApiEnum
        ("SOME_NEW_TYPE", "as is", "as is"),  # a type newer than the table: the platform checks it
    ],
)
def test_a_value_that_fits_is_sent_as_its_json_type(variable_type, text, sent):
    value = convert(variable_type, text)
    assert value == sent and type(value) is type(sent)


@pytest.mark.parametrize(
    ("variable_type", "text"),
    [
        ("INTEGER", "ten"), ("INTEGER", "1.5"), ("INTEGER", ""), ("INTEGER", "1_000"), ("INTEGER", "0x10"),
        ("INTEGER", "true"), ("INTEGER", "9223372036854775808"), ("INTEGER", "1e999999999"),
        ("FLOAT", "fast"), ("FLOAT", "nan"), ("FLOAT", "Infinity"), ("FLOAT", "1e999"), ("FLOAT", ""),
        ("FLOAT", "1,5"),
        ("BOOLEAN", "yes"), ("BOOLEAN", "1"), ("BOOLEAN", ""),
        ("JSON", "[1]"), ("JSON", "not json"), ("JSON", '{"a": NaN}'), ("JSON", '"text"'),
        ("LIST", "a,b,c"), ("LIST", '{"a": 1}'), ("LIST", "[Infinity]"),
        ("DATASET_ID", ""), ("DATASET_ID", "   "), ("MODEL_ID", "two words"), ("FEATURE_GROUP", ""),
    ],
)
def test_a_value_that_does_not_fit_is_refused_without_quoting_it(variable_type, text):
    with pytest.raises(ValueError) as refused:
        convert(variable_type, text)
    assert text.strip() == "" or text not in str(refused.value)


def test_mappings_name_the_parameter_that_is_wrong():
    variables = [Variable("learning_rate", "FLOAT", True, 0.01), Variable("epochs", "INTEGER", True, 10),
                 Variable("dataset_id", "DATASET_ID", False, None)]
    out = Parameter("model_id", Direction.OUTPUT)
    with pytest.raises(ValidationError) as bad_value:
        build_mappings((out, Parameter("epochs", Direction.INPUT, "ten")), variables, "p1")
    assert bad_value.value.field == "parameters[1].value" and "INTEGER" in bad_value.value.reason
    assert "ten" not in str(bad_value.value)
    with pytest.raises(ValidationError) as undeclared:
        build_mappings((Parameter("batch_size", Direction.INPUT, "32"),), variables, "p1")
    assert undeclared.value.field == "parameters[0].name" and "epochs" in undeclared.value.reason
    with pytest.raises(ValidationError) as missing:
        build_mappings((), [Variable("table", "STRING", True, None)], "p1")
    assert missing.value.field == "parameters" and "table" in missing.value.reason
    sent = build_mappings((out, Parameter("epochs", Direction.INPUT_OUTPUT, "3"),
                           Parameter("learning_rate", Direction.INPUT, None)), variables, "p1")
    assert sent == [{"name": "epochs", "variableType": "INTEGER", "value": 3}]  # unset values are not sent


def test_check_request_refuses_before_any_run_is_started(sim, client):
    with pytest.raises(ValidationError) as bad:
        client.check_request(run_request(epochs="3.5"))
    assert bad.value.field == "parameters[0].value"
    with pytest.raises(ValidationError) as undeclared:
        client.check_request(run_request(batch_size="3"))
    assert undeclared.value.field == "parameters[0].name"
    with pytest.raises(ValidationError) as unknown:
        client.check_request(run_request(job="nosuchpipe"))
    assert unknown.value.field == "job" and unknown.value.code == ErrorCode.NOT_FOUND.value
    client.check_request(run_request(learning_rate="0.05", epochs="3", dataset_id="ds12345678"))
    assert "runPipeline" not in sim.stats()["requestsByOperation"]


# ---- the envelope and errors ----------------------------------------------------------------------------

def test_error_types_decide_the_kind_and_a_few_statuses_come_first():
    assert classify(404, "DataNotFoundError") is ErrorKind.NOT_FOUND
    assert classify(429, None) is ErrorKind.THROTTLED and classify(429, "InvalidRequest") is ErrorKind.THROTTLED
    assert classify(504, None) is ErrorKind.TRANSIENT
    assert classify(409, "NotReadyError") is ErrorKind.TRANSIENT  # the name, not the 409, decides
    assert classify(500, "InvalidParameterError") is ErrorKind.PERMANENT
    assert classify(500, None) is ErrorKind.TRANSIENT  # issue #10: a 500 with no errorType
    assert classify(403, None) is ErrorKind.AUTH and classify(418, "SomethingNew") is ErrorKind.PERMANENT
    assert ERROR_KINDS["TooManyRequestsError"] is ErrorKind.THROTTLED


@pytest.mark.parametrize(
    ("answer", "kind", "code", "words"),
    [
        ({"status": 429, "retryAfter": 7}, ErrorKind.THROTTLED, "TooManyRequestsError", "slow down"),
        ({"status": 500}, ErrorKind.TRANSIENT, None, "Internal server error"),
        ({"status": 502, "html": True}, ErrorKind.TRANSIENT, None, "not an Abacus answer"),
        ({"status": 503, "retryAfter": 3}, ErrorKind.THROTTLED, None, "unavailable"),
        ({"status": 400, "errorType": "InvalidParameterError", "error": "bad"}, ErrorKind.PERMANENT,
         "InvalidParameterError", "bad"),
        ({"status": 409, "errorType": "NotReadyError", "error": "later"}, ErrorKind.TRANSIENT, "NotReadyError",
         "later"),
        ({"status": 403}, ErrorKind.AUTH, "PermissionDeniedError", "HTTP 403"),
    ],
)
def test_envelope_errors_become_platform_errors(sim, client, answer, kind, code, words):
    sim.answer(operation="describePipelineVersion", **answer)
    with pytest.raises(PlatformError) as failed:
        client.call("describePipelineVersion", pipelineVersion="anything")
    error = failed.value
    assert (error.kind, error.code, error.http_status) == (kind, code or kind.value, answer["status"])
    assert words.lower() in error.message.lower()
    if answer.get("retryAfter"):
        assert error.retry_after == answer["retryAfter"]


def test_not_found_is_its_own_kind_with_the_request_id(client):
    with pytest.raises(PlatformError) as failed:
        client.call("describePipelineVersion", pipelineVersion="nope")
    assert (failed.value.kind, failed.value.code) == (ErrorKind.NOT_FOUND, "DataNotFoundError")
    assert "requestId" in failed.value.message
    state = client.get_state("nope")
    assert (state.status, state.error_code) == (RunStatus.FAILED, ErrorCode.NOT_FOUND)


def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers or {})
    return response


def test_success_false_is_an_error_whatever_the_status():
    with pytest.raises(PlatformError) as failed:
        read_result(_response(200, {"success": False, "error": "Pipeline p not found", "errorType": "DataNotFoundError",
                                    "requestId": "r-9"}), "describePipeline", None)
    assert failed.value.kind is ErrorKind.NOT_FOUND and failed.value.message.endswith("(requestId r-9)")
    with pytest.raises(PlatformError) as garbled:
        read_result(_response(200, b"<html>proxy</html>", {"x-request-id": "r-1"}), "listPipelines", None)
    assert garbled.value.kind is ErrorKind.TRANSIENT and "r-1" in garbled.value.message
    assert read_result(_response(200, {"success": True, "result": [1], "extra": 2}), "listPipelines", None) == [1]


def test_a_wrong_key_is_auth_and_no_message_carries_a_key(sim):
    marker = "MARKER-wrong-key-0123456789"
    with pytest.raises(PlatformError) as refused:
        sim.client(key=marker).check_request(run_request())
    assert refused.value.kind is ErrorKind.AUTH and refused.value.http_status == 401
    assert marker not in str(refused.value) and marker not in repr(refused.value.to_dict())
    # a server that echoes the key back gets it redacted
    sim.answer(operation="describePipeline", status=400, errorType="InvalidRequest", error=f"bad key {KEY}!")
    client = sim.client()
    with pytest.raises(PlatformError) as echoed:
        client.pipeline("simtrain01")
    assert KEY not in str(echoed.value) and "***" in echoed.value.message
    assert KEY not in repr(client) and KEY not in repr(client.connection)


# ---- submit --------------------------------------------------------------------------------------------

def test_submit_sends_typed_variables_and_returns_the_version(sim, client):
    submitted = client.submit(run_request(learning_rate="0.05", epochs="3"), "r1")
    assert submitted.remote_status == "PENDING" and submitted.monitor_url == "https://abacus.ai/app/pipelines"
    values = {m["name"]: m["value"] for m in sim.version(submitted.remote_run_id)["pipelineVariableMappings"]}
    assert values == {"learning_rate": 0.05, "epochs": 3, "dataset_id": None}
    assert sim.created() == 1


@pytest.mark.parametrize("fault", [
    {"kind": "apply_then_timeout", "operation": "runPipeline", "seconds": 0},  # dropped after it made the version
    {"kind": "apply_then_timeout", "operation": "runPipeline", "seconds": 0, "status": 504},
])
def test_no_second_version_after_a_run_pipeline_timeout(sim, client, fault):
    sim.fault(**fault)
    request = run_request(learning_rate="0.05", epochs="3")
    first = client.submit(request, "r1")
    assert sim.created() == 1
    assert client.submit(request, "r1") == first  # the activity run again, same process
    assert sim.client().submit(request, "r1") == first  # ...or in a new process: by time and variables
    stats = sim.stats()
    assert stats["pipelineVersionsCreated"] == 1 and stats["requestsByOperation"]["runPipeline"] == 1


def test_a_5xx_that_made_nothing_goes_up_and_the_retry_makes_exactly_one(sim, client):
    sim.answer(operation="runPipeline", status=500)
    request = run_request(epochs="4")
    with pytest.raises(PlatformError) as failed:
        client.submit(request, "r1")
    assert failed.value.transient and sim.created() == 0
    sim.clock.advance(30)  # the orchestrator's retry, a durable timer later, in another process
    again = sim.client().submit(request, "r1")
    assert sim.created() == 1 and sim.client().submit(request, "r1") == again


def test_a_throttled_run_pipeline_is_not_looked_for(sim, client):
    sim.answer(operation="runPipeline", status=429, retryAfter=20)
    with pytest.raises(PlatformError) as throttled:
        client.submit(run_request(), "r1")
    assert throttled.value.kind is ErrorKind.THROTTLED and throttled.value.retry_after == 20
    assert sim.stats()["requestsByOperation"]["listPipelineVersions"] == 1  # only the look before the call


def test_versions_of_other_runs_are_never_taken(sim, client):
    seeded = client.submit(run_request(run_id="old", created_at=None), "old")  # defaults, like the seeded history
    sim.clock.advance(3600)
    later = client.submit(run_request(run_id="r2", created_at=sim.clock.now()), "r2")
    assert later.remote_run_id != seeded.remote_run_id  # created before this run: not its own
    twin = client.submit(run_request(run_id="r3", created_at=sim.clock.now()), "r3")
    assert twin.remote_run_id != later.remote_run_id  # same moment, same variables: this process knows r2's
    other = client.submit(run_request(run_id="r4", created_at=sim.clock.now(), epochs="2"), "r4")
    assert other.remote_run_id not in (later.remote_run_id, twin.remote_run_id)
    assert sim.created() == 4


def test_clock_skew_is_allowed_when_looking_for_a_version(sim, client):
    made = client.submit(run_request(created_at=T0), "r1")
    skewed = run_request(created_at=T0 + abacus_client.CLOCK_SKEW - timedelta(seconds=1))
    assert sim.client().submit(skewed, "r1") == made
    assert sim.created() == 1


def test_find_reads_what_a_submit_would_take_and_never_starts_a_version(sim, client):
    # the orphan sweeper's look for a run whose submit never heard back (another process: no claims)
    assert sim.client().find(run_request(), "r1") is None
    made = client.submit(run_request(), "r1")
    assert sim.client().find(run_request(), "r1") == made
    assert sim.client().find(run_request(epochs="2"), "r1") is None  # other variables: not this run's
    late = run_request(created_at=T0 + abacus_client.CLOCK_SKEW + timedelta(seconds=1))
    assert sim.client().find(late, "r1") is None  # made before the run: not its own
    assert sim.client().find(run_request(created_at=None), "r1") is None  # no creation time: no guess
    assert sim.created() == 1


# ---- poll, stop, outputs ------------------------------------------------------------------------------

def test_a_version_goes_pending_running_complete_with_outputs(sim, client):
    submitted = client.submit(run_request(epochs="3"), "r1")
    assert client.get_state(submitted.remote_run_id).status is RunStatus.STARTING
    sim.clock.advance(120)
    assert client.get_state(submitted.remote_run_id).status is RunStatus.RUNNING
    sim.clock.advance(3600)
    state = client.get_state(submitted.remote_run_id)
    assert (state.status, state.remote_status, state.error) == (RunStatus.SUCCESS, "COMPLETE", None)
    assert state.ended_at == "2026-05-01T00:16:00+00:00"
    outputs = client.outputs(submitted.remote_run_id, run_request())
    assert list(outputs) == ["model_id"] and outputs["model_id"]
    steps = sim.version(submitted.remote_run_id)["stepVersions"]
    assert outputs["model_id"] == next(m["value"] for s in steps for m in s["outputVariableMappings"])


def test_a_failed_version_reports_its_error_and_the_failing_steps(sim, client):
    submitted = client.submit(run_request(job="simfail01"), "r1")
    sim.clock.advance(3600)
    state = client.get_state(submitted.remote_run_id)
    assert (state.status, state.remote_status) == (RunStatus.FAILED, "FAILED")
    assert "train_model" in state.error and "loss became NaN" in state.error
    assert "Output variable model_id was not set" in state.error
    assert state.error.count("loss became NaN") == 1  # the step's error is in the version's: not twice


def test_the_stop_path_skips_pending_steps_and_ends_cancelled_with_the_note(sim, client):
    submitted = client.submit(run_request(), "r1")
    sim.clock.advance(300)  # train_model is running
    client.cancel(submitted.remote_run_id)
    stopping = client.get_state(submitted.remote_run_id)
    assert (stopping.status, stopping.error_code) == (RunStatus.RUNNING, ErrorCode.CANCELLED)
    assert "steps already running finish on the platform" in stopping.error and "train_model" in stopping.error
    sim.clock.advance(3600)
    stopped = client.get_state(submitted.remote_run_id)
    assert (stopped.status, stopped.remote_status) == (RunStatus.CANCELLED, "SKIPPED")
    assert "no cancel call" in stopped.error and "Skipped: evaluate_model" in stopped.error
    assert stopped.ended_at == "2026-05-01T00:13:00+00:00"  # train_model ran to its end first
    assert sim.stats()["skipsRequested"] == 1


def test_a_failure_that_skips_dependents_is_a_failure_not_a_stop(sim, client):
    submitted = client.submit(run_request(job="simfail01"), "r1")
    sim.clock.advance(3600)
    steps = {s["stepName"]: s["status"] for s in sim.version(submitted.remote_run_id)["stepVersions"]}
    assert steps["evaluate_model"] == "SKIPPED"
    assert client.get_state(submitted.remote_run_id).error_code is None


# ---- discovery and links ------------------------------------------------------------------------------

def test_discovery_lists_pipelines_with_typed_variables_and_outputs(client):
    page = client.list_jobs()
    assert [j.job for j in page.jobs] == ["simtrain01", "simfail01"] and page.next_page is None
    train = page.jobs[0]
    assert train.display_name == "sim_train" and train.monitor_url == "https://abacus.ai/app/pipelines"
    params = {p.name: (p.direction, p.type, p.required, p.default) for p in train.parameters}
    assert params == {"learning_rate": ("Input", "FLOAT", False, "0.01"),
                      "epochs": ("Input", "INTEGER", False, "10"),
                      "dataset_id": ("Input", "DATASET_ID", False, None),
                      "model_id": ("Output", "MODEL_ID", False, None)}


def test_discovery_pages_through_the_pipelines(client, monkeypatch):
    monkeypatch.setattr(abacus_client, "PIPELINES_PER_PAGE", 1)
    first = client.list_jobs()
    second = client.list_jobs(first.next_page)
    assert [j.job for j in first.jobs + second.jobs] == ["simtrain01", "simfail01"] and second.next_page is None


def test_a_connection_may_set_its_dashboard_host(sim):
    client = sim.client(dashboardEndpoint="https://org.abacus.example/")
    assert client.monitor_url("v1") == "https://org.abacus.example/app/pipelines"


class _Recorder(ThreadingHTTPServer):
    """A loopback server that answers every request with a redirect (when told to) and records headers."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.redirect_to, self.seen = redirect_to, []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                recorder.seen.append(dict(self.headers.items()))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if recorder.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", recorder.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b'{"success": true, "result": []}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


def test_a_redirect_to_another_origin_does_not_carry_the_key():
    other = _Recorder()
    platform = _Recorder(redirect_to=f"{other.url}/landing")
    try:
        connection = load_connections({"CONNECTIONS__ab__type": "abacus", "CONNECTIONS__ab__endpoint": platform.url,
                                       "CONNECTIONS__ab__apiKey": KEY})["ab"]
        with pytest.raises(PlatformError):  # a redirect is not followed at all (SECURITY.md F2)
            create_client(connection).call("listPipelines")
        assert platform.seen[0].get("apiKey") == KEY
        assert other.seen == []
    finally:
        for server in (platform, other):
            server.shutdown()
            server.server_close()


def test_a_prefix_or_encoded_copy_of_the_key_is_redacted_too(sim):
    from urllib.parse import quote
    sim.answer(operation="describePipeline", status=400, errorType="InvalidRequest",
               error=f"key {KEY[:10]}... is not valid; request was ?apiKey={quote(KEY, safe='')}")
    with pytest.raises(PlatformError) as echoed:
        sim.client().pipeline("simtrain01")
    assert KEY[:8] not in str(echoed.value) and quote(KEY, safe="")[:8] not in str(echoed.value)
