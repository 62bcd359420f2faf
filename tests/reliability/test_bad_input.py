"""Bad input, property-based: thousands of generated run requests through the HTTP API and the
`runbridge-runs` queue. Each is a valid request of one of the three job types with one targeted defect
(wrong types, unicode, huge values, deep nesting, unknown job types, connections and jobs, duplicate
parameters, injection-looking names, unknown fields) or no object at all. No answer is a 5xx, no
instance is created for a refused request, and every refusal names the field (the one the defect is in).
Hypothesis is derandomized, so the same examples run every time."""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from starters.queue_starter import MAX_BODY_BYTES, REJECTED_QUEUE, RUNS_QUEUE

from .support import CATALOG, request_for, write_figures

HTTP_EXAMPLES = int(os.environ.get('RELIABILITY_HTTP_EXAMPLES', 1000))
QUEUE_EXAMPLES = int(os.environ.get('RELIABILITY_QUEUE_EXAMPLES', 500))
INJECTIONS = ["'; DROP TABLE instances; --", "../../etc/passwd", "${jndi:ldap://x/a}", "<script>alert(1)</script>",
              "{{7*7}}", "a\r\nX-Injected: 1", "\u0000", "%00%2e%2e", "$(rm -rf /)", "名前\u202e\U0001f600",
              "x" * 300, "runbridge-" + "9" * 40]
_floats = st.floats(allow_nan=False, allow_infinity=False)  # NaN/Infinity would make the body invalid JSON
_scalars = st.none() | st.booleans() | st.integers() | _floats | st.text(max_size=30)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=10)
_not_string = (st.integers() | st.booleans() | _floats | st.lists(_json, min_size=1, max_size=3)
               | st.dictionaries(st.text(max_size=5), _json, min_size=1, max_size=3))
_odd_text = st.sampled_from(INJECTIONS) | st.text(min_size=1, max_size=40)
_STRING_FIELDS = ["jobType", "connection", "job", "runId", "timeout", "startTimeout"]
# A drawn runId ends with this mark until `_fresh` makes it unique to the call: examples must not share a run id,
# or a run one example started answers a later example's request with 409 Conflict (runId), not the error of the
# defect that example carries. Which examples share ids depends on Hypothesis's example sequence, which shifts
# with any change to the project's source (its constants feed the generator): a share was luck, not a defect.
_FRESH_MARK = "~fresh"
_RUN_NUMBERS = itertools.count(1)


def _nested(depth: int) -> str:
    """A placeholder that `_encode` turns into `depth` nested arrays (too deep for json.dumps itself)."""
    return f"__DEEP_{depth}__"


@st.composite
def bad_requests(draw) -> tuple[Any, str | None]:
    """(a body, the field its error must name; None: may be accepted, e.g. an odd but valid runId)."""
    kind = draw(st.sampled_from(sorted(CATALOG)))
    run_id = draw(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)) + _FRESH_MARK
    body = request_for(kind, run_id, draw(st.integers(0, 99)))
    params = body["parameters"]
    defect = draw(st.integers(0, 13))
    if defect == 0:  # a string field of the wrong type
        field = draw(st.sampled_from(_STRING_FIELDS))
        body[field] = draw(_not_string)
        return body, field
    if defect == 1:
        body["jobType"] = draw(_odd_text.filter(lambda t: t not in {"azureml_pipeline", "foundry_agent",
                                                                    "abacus_pipeline"}))
        return body, "jobType"
    if defect == 2:
        body["connection"] = draw(_odd_text.filter(lambda t: not t.endswith("-sim")))
        return body, "connection"
    if defect == 3:
        body["job"] = draw(_odd_text)
        return body, "job"
    if defect == 4:  # an undeclared, injection-looking parameter name
        params.append({"name": draw(_odd_text), "value": draw(st.text(max_size=20)), "direction": "Input"})
        return body, f"parameters[{len(params) - 1}]"
    if defect == 5 and params:  # the same parameter twice
        params.append(dict(params[draw(st.integers(0, len(params) - 1))]))
        return body, "parameters"
    if defect == 6:  # unknown fields, including the ones a request must never carry
        body[draw(st.sampled_from(["endpoint", "apiKey", "token", "Authorization"]) | _odd_text.filter(
            lambda t: t not in body))] = draw(_json)
        return body, None  # the field is the unknown key itself: checked below
    if defect == 7 and params:
        index = draw(st.integers(0, len(params) - 1))
        params[index]["direction"] = draw(_odd_text.filter(lambda t: t not in {"Input", "Output", "InputOutput",
                                                                               "Input&Output"}))
        return body, f"parameters[{index}].direction"
    if defect == 8:  # huge values
        index = draw(st.integers(0, max(0, len(params) - 1)))
        size = draw(st.sampled_from([10_000, 70_000, 300_000]))
        target = draw(st.sampled_from(["runId", "value", "name"]))
        if target == "runId" or not params:
            body["runId"] = "r" * size
            return body, "runId"
        params[index][target] = "v" * size
        return body, f"parameters[{index}]"
    if defect == 9:  # deep nesting where a string belongs
        depth = draw(st.sampled_from([50, 900, 5000]))
        where = draw(st.sampled_from(["job", "parameters", "value"]))
        if where == "value" and params:
            params[0]["value"] = _nested(depth)
            return body, "parameters[0]"
        body[where if where != "value" else "job"] = _nested(depth)
        return body, where if where != "value" else "job"
    if defect == 10:
        body[draw(st.sampled_from(["timeout", "startTimeout"]))] = draw(
            st.sampled_from(["PT", "forever", "-PT1H", "1h", "P", "PT1H ", "P1Y2M"]) | _odd_text)
        return body, None  # some odd durations may be valid
    if defect == 11:
        return draw(st.lists(_json, max_size=3) | _scalars | st.just(_nested(3000))), "$"
    if defect == 12 and params:  # a parameter that is not an object, or has a wrong-typed name
        index = draw(st.integers(0, len(params) - 1))
        if draw(st.booleans()):
            params[index] = draw(_not_string.filter(lambda v: not isinstance(v, dict)) | st.text(max_size=5))
        else:
            params[index]["name"] = draw(_not_string)
        return body, f"parameters[{index}]"
    body["runId"] = draw(st.sampled_from(INJECTIONS))
    return body, None


def _fresh(body: Any) -> Any:
    """`body` with its drawn runId (if a defect did not replace it) made unique to this call."""
    run_id = body.get("runId") if isinstance(body, dict) else None
    if not isinstance(run_id, str) or not run_id.endswith(_FRESH_MARK):
        return body
    return {**body, "runId": f"{run_id.removesuffix(_FRESH_MARK)}-{next(_RUN_NUMBERS)}"}


def _field_ok(field: Any, expected: str | None, body: Any) -> bool:
    if not isinstance(field, str) or not field:
        return False
    if expected is None:
        return True
    return field == expected or field.startswith(expected) or (expected.startswith(field.split(".")[0]) and (
        field.startswith("parameters") and expected.startswith("parameters")))


def _depth(text: str) -> int:
    return max((len(run) for run in re.findall(r"\[+", text)), default=0)


def _too_deep(text: str) -> bool:
    return "[" * 950 in text


def _encode(body: Any) -> str:
    text = json.dumps(body)
    for depth in (50, 900, 3000, 5000):
        text = text.replace(f'"{_nested(depth)}"', "[" * depth + '"deep"' + "]" * depth)
    return text


def test_generated_http_bodies_get_no_5xx_create_nothing_invalid_and_name_the_field(stack):
    figures: dict[str, Any] = {"examples": 0, "accepted": 0, "refused": 0, "byStatus": {}, "wrongField": [],
                               "fiveHundreds": []}
    accepted: set[str] = set()

    @settings(max_examples=HTTP_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(bad_requests())
    def check(case: tuple[Any, str | None]) -> None:
        body, expected = case
        body = _fresh(body)
        text = _encode(body)
        response = requests.post(f"{stack.api}/runs", data=text, timeout=30,
                                 headers={"Content-Type": "application/json"})
        figures["examples"] += 1
        status = str(response.status_code)
        figures["byStatus"][status] = figures["byStatus"].get(status, 0) + 1
        assert "Traceback" not in response.text
        if response.status_code >= 500:
            figures["fiveHundreds"].append({"depth": _depth(text), "answer": response.text[:200]})
        assert response.status_code < 500, response.text[:500]
        if response.status_code in (200, 202):
            figures["accepted"] += 1
            accepted.add(response.json()["id"])
            return
        figures["refused"] += 1
        error = response.json()["error"]
        unknown = expected is None and isinstance(body, dict) and error.get("field") in body
        if _too_deep(text):  # too deep for the JSON parser: the whole body ("$") is refused
            expected = "$"
        if not (_field_ok(error.get("field"), expected, body) or unknown):
            figures["wrongField"].append({"expected": expected, "error": error})
        assert _field_ok(error.get("field"), expected, body) or unknown, (expected, error)

    started = time.monotonic()
    check()
    instances = {row.id for row in stack.host.store.query(limit=100_000)}
    figures.update(instancesCreated=len(instances), instancesForRefused=len(instances - accepted),
                   wallSeconds=round(time.monotonic() - started, 1))
    write_figures("bad-input-http", figures)
    assert instances == accepted
    assert figures["examples"] >= HTTP_EXAMPLES * 0.9


def test_generated_queue_messages_are_rejected_naming_the_field_and_create_nothing(stack):
    sent: dict[str, tuple[Any, str | None]] = {}

    @settings(max_examples=QUEUE_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(bad_requests())
    def send(case: tuple[Any, str | None]) -> None:
        body, expected = case
        body = _fresh(body)
        text = _encode(body)
        if len(text.encode()) > MAX_BODY_BYTES or _too_deep(text):
            expected = "$"  # too large for one queue message, or too deep to parse: refused as a whole
        sent[stack.host.enqueue(RUNS_QUEUE, text)] = (body, expected)

    started = time.monotonic()
    send()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stack.host.wait_idle()
        if not stack.host.queues.peek(RUNS_QUEUE):
            break
        time.sleep(0.1)
    instances = {row.id for row in stack.host.store.query(limit=100_000)}
    rejected = {r["messageId"]: r for r in _all_rejections(stack)}
    wrong = [{"expected": sent[mid][1], "error": r["error"]} for mid, r in rejected.items()
             if not (_field_ok(r["error"].get("field"), sent[mid][1], sent[mid][0])
                     or (sent[mid][1] is None and r["error"].get("field") in (sent[mid][0] or {})))]
    poison = stack.host.queues.peek(f"{RUNS_QUEUE}-poison")
    kept = {sent[mid][0]["runId"] for mid in sent.keys() - rejected.keys()}  # same runId + body: one run
    figures = write_figures("bad-input-queue", {
        "examples": len(sent), "rejected": len(rejected), "accepted": len(sent) - len(rejected),
        "instancesCreated": len(instances), "instancesForRejected": len(instances - kept), "poison": len(poison),
        "unaccounted": len(kept ^ instances), "wrongField": wrong[:10],
        "retried": sum(1 for r in rejected.values() if r["dequeueCount"] != 1),
        "wallSeconds": round(time.monotonic() - started, 1)})
    assert stack.host.queues.peek(RUNS_QUEUE) == [] and poison == []
    assert figures["unaccounted"] == 0 and figures["retried"] == 0
    assert wrong == [], wrong[:5]
    assert instances == kept  # exactly the messages not rejected started a run


def _all_rejections(stack) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in stack.host.queues.peek(REJECTED_QUEUE)]
