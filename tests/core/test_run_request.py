import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.connections import CONNECTION_TYPE_FOR_JOB_TYPE, JOB_TYPES, Connection, ConnectionType
from core.durations import START_TIMEOUT, TIMEOUT, format_duration
from core.errors import ValidationError
from core.parameters import Direction, Parameter, render_value
from core.run_request import (
    MAX_VALUE_BYTES,
    RUN_ID,
    RunRequest,
    derive_run_id,
    parse_run_request,
)

CONNECTIONS = {"ml-prod": "azure_ml", "Foundry-Sim": "foundry_agents", "abacus-sim": "abacus"}
VALID = {
    "jobType": "azureml_pipeline",
    "connection": "ml-prod",
    "job": "nightly-train-template",
    "parameters": [
        {"name": "learning_rate", "value": "0.01", "direction": "Input"},
        {"name": "model_uri", "direction": "Output"},
    ],
    "runId": "optional-caller-key",
    "timeout": "PT6H",
    "startTimeout": "PT1H",
}


def parse(body, **kwargs):
    kwargs.setdefault("known_job_types", JOB_TYPES)
    kwargs.setdefault("known_connections", CONNECTIONS)
    return parse_run_request(body, **kwargs)


def test_the_design_example_parses():
    assert parse(VALID) == RunRequest(
        job_type="azureml_pipeline",
        connection="ml-prod",
        job="nightly-train-template",
        parameters=(
            Parameter("learning_rate", Direction.INPUT, "0.01"),
            Parameter("model_uri", Direction.OUTPUT, None),
        ),
        run_id="optional-caller-key",
        timeout=timedelta(hours=6),
        start_timeout=timedelta(hours=1),
    )


def test_defaults_for_optional_fields_and_nulls_mean_absent():
    minimal = {"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": "simtrain01"}
    nulls = {**minimal, "parameters": None, "runId": None, "timeout": None, "startTimeout": None}
    for body in (minimal, nulls):
        request = parse(body)
        assert (request.parameters, request.run_id) == ((), None)
        assert (request.timeout, request.start_timeout) == (TIMEOUT.default, START_TIMEOUT.default)


def test_values_render_as_json_text_and_output_values_are_dropped():
    body = {
        **VALID,
        "parameters": [
            {"name": "epochs", "direction": "input", "value": 10},
            {"name": "lr", "direction": "Input", "value": 0.01},
            {"name": "shuffle", "direction": "Input", "value": True},
            {"name": "thread_id", "direction": "Input&Output"},
            {"name": "dataset_id", "direction": "Input", "value": None},
            {"name": "response", "direction": "Output", "value": "last run's answer"},
        ],
    }
    assert [(p.name, p.direction, p.value) for p in parse(body).parameters] == [
        ("epochs", Direction.INPUT, "10"),
        ("lr", Direction.INPUT, "0.01"),
        ("shuffle", Direction.INPUT, "true"),
        ("thread_id", Direction.INPUT_OUTPUT, None),
        ("dataset_id", Direction.INPUT, None),
        ("response", Direction.OUTPUT, None),
    ]


def test_identifiers_at_their_longest_are_accepted():
    body = {**VALID, "job": "j" * 256, "runId": "r" * 64, "parameters": [p("n" * 128)]}
    request = parse(body)
    assert (len(request.job), len(request.run_id), len(request.parameters[0].name)) == (256, 64, 128)


def test_values_keep_newlines_tabs_and_unicode():
    text = "line one\n\tline two — ünïcødé 🚀\r\n"
    body = {**VALID, "parameters": [{"name": "user_message", "direction": "Input", "value": text}]}
    assert parse(body).parameters[0].value == text


def test_connection_is_looked_up_ignoring_case_and_returned_as_configured():
    body = {**VALID, "jobType": "foundry_agent", "connection": "foundry-sim", "job": "asst_echo"}
    assert parse(body).connection == "Foundry-Sim"


def test_known_connections_may_be_loaded_connections():
    connections = {
        "ML-Prod": Connection("ML-Prod", ConnectionType.AZURE_ML),
        "x": Connection("x", ConnectionType.ABACUS),
    }
    assert parse(VALID, known_connections=connections).connection == "ML-Prod"
    with pytest.raises(ValidationError, match="has type abacus"):
        parse({**VALID, "connection": "X"}, known_connections=connections)


def test_known_connections_may_be_a_function():
    seen = []

    def lookup(name):
        seen.append(name)
        return "azure_ml" if name == "ml-prod" else None

    assert parse(VALID, known_connections=lookup).connection == "ml-prod"
    with pytest.raises(ValidationError) as caught:
        parse({**VALID, "connection": "ml-dev"}, known_connections=lookup)
    assert (caught.value.field, caught.value.reason) == ("connection", "is not a configured connection")
    assert seen == ["ml-prod", "ml-dev"]


def test_only_job_types_the_app_runs_are_known():
    with pytest.raises(ValidationError) as caught:
        parse(VALID, known_job_types={"foundry_agent", "made_up"})
    assert caught.value.field == "jobType"
    assert caught.value.reason == "is not a known job type; expected one of foundry_agent"


def with_parameters(*entries):
    return {**VALID, "parameters": list(entries)}


def p(name="x", direction="Input", **extra):
    return {"name": name, "direction": direction, **extra}


BIG = "é" * (MAX_VALUE_BYTES // 2 + 1)  # two bytes each in UTF-8: one byte over the cap
ERRORS = [
    # (body, field, part of the reason)
    ([VALID], "$", "must be a JSON object"),
    ("text", "$", "must be a JSON object"),
    (None, "$", "must be a JSON object"),
    ({k: v for k, v in VALID.items() if k != "jobType"}, "jobType", "is required"),
    ({k: v for k, v in VALID.items() if k != "connection"}, "connection", "is required"),
    ({k: v for k, v in VALID.items() if k != "job"}, "job", "is required"),
    ({**VALID, "job": None}, "job", "is required"),
    ({**VALID, "priority": 1}, "priority", "is not a known field"),
    ({**VALID, "jobtype": "x"}, "jobtype", "is not a known field"),
    ({**VALID, "endpoint": "https://evil.example"}, "endpoint", "never carries an endpoint or credential"),
    ({**VALID, "apiKey": "k"}, "apiKey", "never carries an endpoint or credential"),
    ({**VALID, "token": "t"}, "token", "never carries an endpoint or credential"),
    ({**VALID, "url": "u"}, "url", "never carries an endpoint or credential"),
    ({**VALID, "baseUri": "u"}, "baseUri", "never carries an endpoint or credential"),
    ({**VALID, "clientSecret": "s"}, "clientSecret", "never carries an endpoint or credential"),
    ({**VALID, "password": "p"}, "password", "never carries an endpoint or credential"),
    ({**VALID, "credentials": {}}, "credentials", "never carries an endpoint or credential"),
    ({**VALID, "Authorization": "Bearer x"}, "Authorization", "never carries an endpoint or credential"),
    ({**VALID, "bad key\n": 1}, "$", "not a plain identifier"),
    ({**VALID, "jobType": 5}, "jobType", "must be a string, not a number"),
    ({**VALID, "jobType": ""}, "jobType", "must not be empty"),
    ({**VALID, "jobType": "x" * 65}, "jobType", "at most 64 characters"),
    ({**VALID, "jobType": "spark_job"}, "jobType", "is not a known job type; expected one of abacus_pipeline"),
    ({**VALID, "jobType": "AzureML_Pipeline"}, "jobType", "is not a known job type"),
    ({**VALID, "connection": ["ml-prod"]}, "connection", "must be a string, not an array"),
    ({**VALID, "connection": "../secrets"}, "connection", "may contain only letters"),
    ({**VALID, "connection": "ml\nprod"}, "connection", "may contain only letters"),
    ({**VALID, "connection": "c" * 65}, "connection", "at most 64 characters"),
    ({**VALID, "connection": "ml-dev"}, "connection", "is not a configured connection"),
    (
        {**VALID, "connection": "abacus-sim"},
        "connection",
        "has type abacus, but azureml_pipeline needs a connection of type azure_ml",
    ),
    ({**VALID, "job": ""}, "job", "must not be empty"),
    ({**VALID, "job": "j" * 257}, "job", "at most 256 characters"),
    ({**VALID, "job": "a/../../b"}, "job", "may contain only letters"),
    ({**VALID, "job": ".hidden"}, "job", "may contain only letters"),
    ({**VALID, "job": "job\u202ename"}, "job", "may contain only letters"),
    ({**VALID, "job": True}, "job", "must be a string, not a boolean"),
    ({**VALID, "parameters": {"a": "1"}}, "parameters", "must be an array, not an object"),
    (with_parameters(*[p(f"p{i}") for i in range(101)]), "parameters", "at most 100 entries"),
    (with_parameters(p(), "x"), "parameters[1]", "must be an object, not a string"),
    (with_parameters(p(type="string")), "parameters[0].type", "is not a known field"),
    (with_parameters(p(secret="s")), "parameters[0].secret", "never carries an endpoint or credential"),
    (with_parameters({"direction": "Input"}), "parameters[0].name", "is required"),
    (with_parameters(p("")), "parameters[0].name", "must not be empty"),
    (with_parameters(p("n" * 129)), "parameters[0].name", "at most 128 characters"),
    (with_parameters(p("a b")), "parameters[0].name", "may contain only letters"),
    (with_parameters(p("1abc")), "parameters[0].name", "may contain only letters"),
    (with_parameters(p("<script>")), "parameters[0].name", "may contain only letters"),
    (with_parameters(p("epochs"), p("lr"), p("EPOCHS")), "parameters[2].name", "repeats parameters[0].name"),
    (with_parameters({"name": "x"}), "parameters[0].direction", "is required"),
    (with_parameters(p(direction="Sideways")), "parameters[0].direction", "must be one of Input, Output"),
    (with_parameters(p(direction=1)), "parameters[0].direction", "must be a string, not a number"),
    (with_parameters(p(value={"a": 1})), "parameters[0].value", "must be a string, number, boolean or null"),
    (with_parameters(p(value=[1])), "parameters[0].value", "not an array"),
    (with_parameters(p(value=float("nan"))), "parameters[0].value", "must be a finite number"),
    (with_parameters(p(value=float("inf"))), "parameters[0].value", "must be a finite number"),
    (with_parameters(p(value=BIG)), "parameters[0].value", f"at most {MAX_VALUE_BYTES} bytes"),
    (with_parameters(p(value="a\x00b")), "parameters[0].value", "control character"),
    (with_parameters(p(value="a\x1bb")), "parameters[0].value", "control character"),
    (with_parameters(p(value="\ud800")), "parameters[0].value", "unpaired surrogate"),
    (
        with_parameters(*[p(f"p{i}", value="v" * MAX_VALUE_BYTES) for i in range(9)]),
        "parameters",
        "values must total at most 262144 bytes",
    ),
    ({**VALID, "runId": ""}, "runId", "must not be empty"),
    ({**VALID, "runId": "r" * 65}, "runId", "at most 64 characters"),
    ({**VALID, "runId": "@run"}, "runId", "may contain only letters, digits, '_' and '-'"),
    ({**VALID, "runId": "a/b"}, "runId", "may contain only"),
    ({**VALID, "runId": "a#b?c"}, "runId", "may contain only"),
    ({**VALID, "runId": "run.1"}, "runId", "may contain only"),
    ({**VALID, "runId": "_run"}, "runId", "may contain only"),
    ({**VALID, "runId": 42}, "runId", "must be a string, not a number"),
    ({**VALID, "timeout": 3600}, "timeout", "must be an ISO 8601 duration string such as PT6H, not a number"),
    ({**VALID, "timeout": "6 hours"}, "timeout", "must be an ISO 8601 duration"),
    ({**VALID, "timeout": "P1M"}, "timeout", "must not use years or months"),
    ({**VALID, "timeout": "-PT1H"}, "timeout", "must not be signed"),
    ({**VALID, "timeout": "PT"}, "timeout", "must be an ISO 8601 duration"),
    ({**VALID, "timeout": "PT30S"}, "timeout", "must be between PT1M and P30D"),
    ({**VALID, "timeout": "P31D"}, "timeout", "must be between PT1M and P30D"),
    ({**VALID, "startTimeout": "P8D"}, "startTimeout", "must be between PT1M and P7D"),
    ({**VALID, "startTimeout": False}, "startTimeout", "not a boolean"),
]


@pytest.mark.parametrize(("body", "field", "reason"), ERRORS, ids=[f"{i}-{e[1]}" for i, e in enumerate(ERRORS)])
def test_each_mistake_names_its_field_and_reason(body, field, reason):
    with pytest.raises(ValidationError) as caught:
        parse(body)
    error = caught.value
    assert error.field == field
    assert reason in error.reason
    assert error.to_dict() == {
        "error": {"code": "InvalidRequest", "message": f"{field}: {error.reason}", "field": field}
    }


def test_errors_never_quote_the_callers_value():
    hostile = "<img src=x onerror=alert(1)>\x00"
    for key in ("jobType", "connection", "job", "runId", "timeout"):
        with pytest.raises(ValidationError) as caught:
            parse({**VALID, key: hostile})
        assert hostile not in json.dumps(caught.value.to_dict())
        assert "img" not in str(caught.value)


def test_to_dict_round_trips_and_from_dict_reads_it_without_settings():
    request = parse({**VALID, "timeout": "pt90m"})
    body = request.to_dict()
    assert body["timeout"] == "PT1H30M"
    assert json.loads(json.dumps(body)) == body
    assert parse(body) == request
    assert RunRequest.from_dict(body) == request
    assert RunRequest.from_dict({**body, "connection": "not-configured-here"}).connection == "not-configured-here"
    no_id = parse({k: v for k, v in VALID.items() if k != "runId"})
    assert "runId" not in no_id.to_dict()


def test_with_run_id_checks_the_id():
    request = parse({k: v for k, v in VALID.items() if k != "runId"})
    assert request.with_run_id("abc-1").run_id == "abc-1"
    with pytest.raises(ValidationError) as caught:
        request.with_run_id("a/b")
    assert caught.value.field == "runId"


def test_derive_run_id_is_deterministic_and_a_valid_run_id():
    first = derive_run_id("queue-message-7f3a")
    assert first == derive_run_id("queue-message-7f3a")
    assert first != derive_run_id("queue-message-7f3b")
    assert RUN_ID.fullmatch(first) and len(first) == 32
    assert RUN_ID.fullmatch(derive_run_id("\ud800 odd seed"))
    with pytest.raises(ValueError):
        derive_run_id("")


# ---- property-based: any JSON in, a RunRequest or a ValidationError out -------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
any_json = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def parse_or_validation_error(body):
    try:
        request = parse(body)
    except ValidationError as error:
        assert error.field and error.reason
        event(f"refused at {error.field.split('[')[0]}: {error.reason[:28]}")
        json.dumps(error.to_dict())
        return None
    assert isinstance(request, RunRequest)
    assert parse(request.to_dict()) == request
    return request


@settings(max_examples=500, deadline=None)
@given(any_json)
def test_arbitrary_json_gives_a_request_or_a_validation_error(body):
    parse_or_validation_error(body)


# Strategies are built once, at import: building them inside a composite costs most of the run time.
safe_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r"), max_size=40)
values = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | safe_text
SPELLINGS = (
    (Direction.INPUT, "Input"),
    (Direction.INPUT, "input"),
    (Direction.INPUT, "INPUT"),
    (Direction.OUTPUT, "Output"),
    (Direction.OUTPUT, "output"),
    (Direction.INPUT_OUTPUT, "InputOutput"),
    (Direction.INPUT_OUTPUT, "Input&Output"),
    (Direction.INPUT_OUTPUT, "input&output"),
)
LETTERS, DIGITS = "abcxyzABCXYZ", "0189"
WORD = LETTERS + DIGITS + "_"


def identifiers(first, rest, longest):
    """Strings of one leading and up to `longest - 1` further characters (far faster than from_regex)."""
    return st.builds(str.__add__, st.sampled_from(first), st.text(alphabet=rest, max_size=min(longest - 1, 16)))


names = identifiers(LETTERS + "_", WORD + ".-", 128)
jobs = identifiers(LETTERS + DIGITS, WORD + ".-", 256)
run_ids = st.none() | identifiers(LETTERS + DIGITS, WORD + "-", 64)
entries = st.tuples(st.sampled_from(SPELLINGS), values, st.booleans())
targets = st.sampled_from(
    tuple(
        (job_type, name, spelled)
        for job_type, kind in CONNECTION_TYPE_FOR_JOB_TYPE.items()
        for name, configured in CONNECTIONS.items()
        if configured == kind.value
        for spelled in (name, name.upper(), name.lower())
    )
)
timeouts = st.timedeltas(TIMEOUT.minimum, TIMEOUT.maximum)
start_timeouts = st.timedeltas(START_TIMEOUT.minimum, START_TIMEOUT.maximum)


@st.composite
def valid_bodies(draw):
    job_type, connection, spelled = draw(targets)
    parameters, expected = [], []
    for name in draw(st.lists(names, max_size=6, unique_by=str.casefold)):
        (direction, spelling), value, with_value = draw(entries)
        entry = {"name": name, "direction": spelling}
        if with_value:
            entry["value"] = value
        parameters.append(entry)
        kept = render_value(entry.get("value")) if direction.sends else None
        expected.append(Parameter(name, direction, kept))
    job, run_id, timeout, start_timeout = draw(st.tuples(jobs, run_ids, timeouts, start_timeouts))
    body = {
        "jobType": job_type,
        "connection": spelled,
        "job": job,
        "parameters": parameters,
        "timeout": format_duration(timeout),
        "startTimeout": format_duration(start_timeout),
    }
    if run_id is not None:
        body["runId"] = run_id
    return body, RunRequest(job_type, connection, job, tuple(expected), run_id, timeout, start_timeout)


@settings(max_examples=500, deadline=None)
@given(valid_bodies())
def test_valid_requests_parse_to_what_they_say_and_round_trip(case):
    body, expected = case
    request = parse(body)
    assert request == expected
    assert parse(json.loads(json.dumps(request.to_dict()))) == request
    assert RunRequest.from_dict(request.to_dict()) == request


# Mutations of valid bodies reach every check, deep ones included; arbitrary JSON mostly stops at the top.
junk = st.one_of(
    json_scalars,
    st.sampled_from(["", "x" * 300, "a/b", "@id", "\x00", "\ud800", "P1Y", "PT0S", "Input&Output", "ML-PROD"]),
    st.sampled_from(["abacus_pipeline", "abacus-sim", "Output", "Sideways", "PT6H", float("nan"), 10**5000]),
    st.lists(json_scalars, max_size=2),
    st.dictionaries(st.text(max_size=5), json_scalars, max_size=2),
)
FIELDS = ["jobType", "connection", "job", "parameters", "runId", "timeout", "startTimeout"]
keys = st.sampled_from([*FIELDS, "name", "direction", "value", "endpoint", "apiKey", "priority"]) | st.text(max_size=6)


@st.composite
def mutated_bodies(draw):
    body, _ = draw(valid_bodies())
    for _ in range(draw(st.integers(1, 3))):
        parameters = body.get("parameters")
        target = body
        if isinstance(parameters, list) and parameters and draw(st.booleans()):
            index = draw(st.integers(0, len(parameters) - 1))
            if not isinstance(parameters[index], dict) or draw(st.integers(0, 9)) == 0:
                parameters[index] = draw(junk)
                continue
            target = parameters[index]
        key = draw(keys)
        if draw(st.booleans()) and target:
            key = list(target)[draw(st.integers(0, len(target) - 1))]
        if draw(st.integers(0, 3)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(junk)
    return body


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_bodies())
def test_mutated_valid_bodies_give_a_request_or_a_validation_error(body):
    if parse_or_validation_error(body) is not None:
        event("accepted")


def test_the_creation_time_rides_along_but_is_no_part_of_the_request():
    request = RunRequest.from_dict({**VALID, "runId": "r1"})
    created = request.with_created_at("2026-03-01T00:00:00.5+00:00")
    assert created.created_at is not None and created.created_at.isoformat() == "2026-03-01T00:00:00.500000+00:00"
    assert created == request and created.to_dict() == request.to_dict()  # not in the wire form nor equality
    naive = request.with_created_at("2026-03-01T00:00:00")  # Durable's current_utc_datetime may be naive: UTC
    assert naive.created_at is not None and naive.created_at.utcoffset() == timedelta(0)
    assert request.with_created_at("yesterday").created_at is None
    assert request.with_created_at(None).created_at is None
