"""A test-only Durable Functions app that exercises each feature devhost must host faithfully."""

import asyncio
import json
import os
import threading
import time
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func
from shapes import Point

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
ATTEMPTS: dict[str, int] = {}
LOCK = threading.Lock()
SWITCHES = {"nondeterministic": False}
DELIVERIES: list[tuple[str, int, str]] = []  # (message id, dequeue count, body) per queue delivery


# ---- activities -------------------------------------------------------------------------------
@app.activity_trigger(input_name="value")
def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="value")
async def async_echo(value):
    await asyncio.sleep(0)
    return {"echo": value}


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    """Fails until its key has been tried `fail_times` times (key is 'name:fail_times')."""
    name, fail_times = key.rsplit(":", 1)
    with LOCK:
        ATTEMPTS[name] = ATTEMPTS.get(name, 0) + 1
        attempt = ATTEMPTS[name]
    if attempt <= int(fail_times):
        raise ValueError(f"{name} attempt {attempt} failed")
    return f"{name} ok after {attempt}"


@app.activity_trigger(input_name="seconds")
def slow(seconds: float) -> str:
    """Blocks a pool thread in real time; records each start so tests can count re-runs."""
    log = os.environ.get("SAMPLE_APP_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write("slow-start\n")
    time.sleep(seconds)
    return "slow done"


@app.activity_trigger(input_name="point")
def move(point: Point) -> Point:
    return Point(point.x + 1, point.y + 1)


@app.activity_trigger(input_name="value")
def boom(value):
    raise RuntimeError(f"boom: {value}")


# ---- orchestrators ----------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    value = context.get_input()["n"]
    value = yield context.call_activity("double", value)
    value = yield context.call_activity("double", value)
    echoed = yield context.call_activity("async_echo", value)
    return echoed


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("double", i) for i in range(count)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    """Waits on durable timers; returns the orchestration times it saw."""
    seen = [context.current_utc_datetime.isoformat()]
    for hours in context.get_input():
        yield context.create_timer(context.current_utc_datetime + timedelta(hours=hours))
        seen.append(context.current_utc_datetime.isoformat())
    return seen


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    """Waits for 'approve' or a one-hour timeout, cancelling the timer when the event wins."""
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    event = context.wait_for_external_event("approve")
    winner = yield context.task_any([timer, event])
    if winner == event:
        timer.cancel()
        return {"approved": event.result}
    return {"approved": None, "timed_out": True}


@app.orchestration_trigger(context_name="context")
def approval_no_cancel(context: df.DurableOrchestrationContext):
    """Like approval but forgets to cancel the timer: stays Running until the timer fires."""
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    event = context.wait_for_external_event("approve")
    winner = yield context.task_any([timer, event])
    return {"event_won": winner == event}


@app.orchestration_trigger(context_name="context")
def late_waiter(context: df.DurableOrchestrationContext):
    """Runs an activity first, then waits: an event raised before the wait must still arrive."""
    yield context.call_activity("double", 1)
    value = yield context.wait_for_external_event("go")
    return value


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=spec["first_ms"],
                              max_number_of_attempts=spec["attempts"])
    try:
        result = yield context.call_activity_with_retry("flaky", options, spec["key"])
    except Exception as exc:  # the failure surfaces after the last attempt
        return {"failed": str(exc).split("\n")[0]}
    return {"result": result, "now": context.current_utc_datetime.isoformat()}


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    first = yield context.call_sub_orchestrator("chain", {"n": 1}, f"{context.instance_id}-child")
    second = yield context.call_sub_orchestrator("fan_out", 3)
    try:
        yield context.call_sub_orchestrator("failing", None)
    except Exception as exc:
        return {"first": first, "second": second, "child_error": str(exc)}
    return {"first": first, "second": second}


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext):
    yield context.call_activity("boom", "x")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    """continue_as_new every step; an 'add' event raised at any time must be counted."""
    state = context.get_input()
    if state["step"] >= state["steps"]:
        return state
    timer = context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
    add = context.wait_for_external_event("add")
    winner = yield context.task_any([timer, add])
    if winner == add:
        timer.cancel()
        payload = add.result
        state["added"] += json.loads(payload) if isinstance(payload, str) else payload
    state["step"] += 1
    context.continue_as_new(state)


@app.orchestration_trigger(context_name="context")
def status_reporter(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "before"})
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    context.set_custom_status({"stage": "after"})
    yield context.wait_for_external_event("finish")
    return "done"


@app.orchestration_trigger(context_name="context")
def drifting(context: df.DurableOrchestrationContext):
    """Changes what it schedules when SWITCHES says so: a replay must fail as non-deterministic."""
    yield context.call_activity("double", 1)
    name = "async_echo" if SWITCHES["nondeterministic"] else "double"
    yield context.call_activity(name, 2)
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
    return "done"


@app.orchestration_trigger(context_name="context")
def custom_types(context: df.DurableOrchestrationContext):
    moved = yield context.call_activity("move", Point(1, 2))
    return [moved.x, moved.y]  # orchestration output must be plain JSON (the SDK json.dumps it)


@app.orchestration_trigger(context_name="context")
def slow_work(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("slow", context.get_input())
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=10))
    second = yield context.call_activity("slow", context.get_input())
    return [first, second]


@app.orchestration_trigger(context_name="context")
def fragile(context: df.DurableOrchestrationContext):
    """One flaky activity, no retry options: it fails the orchestration; a rewind runs it again."""
    first = yield context.call_activity("double", 1)
    result = yield context.call_activity("flaky", context.get_input())
    return [first, result]


@app.orchestration_trigger(context_name="context")
def failing_child_parent(context: df.DurableOrchestrationContext):
    yield context.call_sub_orchestrator("failing", None)
    return "unreachable"


# ---- loops the race tests stop at random moments ----------------------------------------------
@app.orchestration_trigger(context_name="context")
def spin(context: df.DurableOrchestrationContext):
    """continue_as_new with no wait at all: every episode starts the next execution."""
    context.continue_as_new((context.get_input() or 0) + 1)


@app.orchestration_trigger(context_name="context")
def spin_activities(context: df.DurableOrchestrationContext):
    n = context.get_input() or 0
    yield context.task_all([context.call_activity("double", n), context.call_activity("double", n + 1)])
    yield context.call_activity("double", n)
    context.continue_as_new(n + 1)


@app.orchestration_trigger(context_name="context")
def spin_timers(context: df.DurableOrchestrationContext):
    n = context.get_input() or 0
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    context.continue_as_new(n + 1)


@app.orchestration_trigger(context_name="context")
def tally(context: df.DurableOrchestrationContext):
    """Counts 'tick' events across continue_as_new; the count is its custom status."""
    seen = context.get_input() or 0
    context.set_custom_status({"seen": seen})
    yield context.wait_for_external_event("tick")
    context.continue_as_new(seen + 1)


# ---- client functions -------------------------------------------------------------------------
@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], req.params.get("id"), req.get_json())
    return client.create_check_status_response(req, instance_id)


@app.route(route="hello/{who?}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"hello": req.route_params.get("who", "world")}),
                             mimetype="application/json")


@app.route(route="crash", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def crash(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret-internal-detail")


@app.queue_trigger(arg_name="msg", queue_name="work-items", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="done", queue_name="work-items-done", connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
async def queue_start(msg: func.QueueMessage, done: func.Out[str], client: df.DurableOrchestrationClient) -> None:
    """Starts `chain` for a number; 'poison' always fails. Records each delivery; reports starts on work-items-done."""
    body = msg.get_body().decode()
    with LOCK:
        DELIVERIES.append((msg.id, msg.dequeue_count, body))
    if body == "poison":
        raise ValueError("cannot handle this message")
    await client.start_new("chain", f"q-{msg.id}", {"n": int(body)})
    done.set(json.dumps({"started": f"q-{msg.id}", "n": int(body)}))


@app.orchestration_trigger(context_name="context")
def status_across_continue(context: df.DurableOrchestrationContext):
    """Sets a status, continues as new, then waits before setting the next execution's own status."""
    execution = context.get_input()["execution"]
    if execution == 1:
        context.set_custom_status({"execution": 1})
        context.continue_as_new({"execution": 2})
        return None
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    context.set_custom_status({"execution": 2})
    yield context.wait_for_external_event("finish")
    return "done"
