"""A test-only app with durable entities, in the shapes of the SDK's entity samples: a counter entity, an
orchestration that signals then calls it, and HTTP routes that signal it and read its state."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
    elif operation == "reset":
        value = 0
    elif operation == "delete":
        context.destruct_on_exit()
        return
    elif operation == "add_then_fail":
        context.set_state(value + context.get_input())
        raise ValueError(f"refused after adding {context.get_input()}")
    elif operation != "get":
        raise ValueError(f"unknown operation {operation}")
    context.set_state(value)
    context.set_result(value)


@app.entity_trigger(context_name="context", entity_name="Journal")
def journal_entity(context: df.DurableEntityContext):
    lines = context.get_state(lambda: [])
    if context.operation_name == "append":
        lines.append(context.get_input())
        context.set_state(lines)
    context.set_result(lines)


@app.orchestration_trigger(context_name="context")
def signal_then_call(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", context.get_input() or "myCounter")
    context.signal_entity(entity, "add", 3)
    state = yield context.call_entity(entity, "get")
    return state


@app.orchestration_trigger(context_name="context")
def write_journal(context: df.DurableOrchestrationContext):
    settings = context.get_input()
    journal = df.EntityId("journal", settings["key"])
    for n in range(settings["lines"]):
        context.signal_entity(journal, "append", f"{settings['key']}-{n}")
    lines = yield context.call_entity(journal, "get")
    return lines


@app.orchestration_trigger(context_name="context")
def call_failing(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", context.get_input())
    try:
        yield context.call_entity(entity, "add_then_fail", 10)
    except Exception as exc:  # the entity's error surfaces as the task's exception
        after = yield context.call_entity(entity, "add", 1)
        return {"error": str(exc), "after": after}
    return "no error"


@app.orchestration_trigger(context_name="context")
def call_missing_entity(context: df.DurableOrchestrationContext):
    yield context.call_entity(df.EntityId("nobody", "k"), "get")
    return "unreachable"


@app.route(route="entity/{entityName}/{entityKey}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read_entity(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    name, key = req.route_params["entityName"], req.route_params["entityKey"]
    response = await client.read_entity_state(df.EntityId(name, key))
    if not response.entity_exists:
        return func.HttpResponse("Entity not found", status_code=404)
    return func.HttpResponse(json.dumps({"entity": name, "key": key, "state": response.entity_state}))


@app.route(route="entity/{entityName}/{entityKey}/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal_entity(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    params = req.route_params
    body = req.get_body()
    await client.signal_entity(df.EntityId(params["entityName"], params["entityKey"]), params["operation"],
                               json.loads(body) if body else None)
    return func.HttpResponse(status_code=202)
