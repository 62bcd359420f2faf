import azure.durable_functions as df
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def greeting_orchestration(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("say_hello", "World")
    return result


@bp.orchestration_trigger(context_name="context")
def fan_out_orchestration(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("say_hello", c) for c in ["Tokyo", "London", "Seattle"]])
    return results


@bp.orchestration_trigger(context_name="context")
def parent_orchestration(context: df.DurableOrchestrationContext):
    result = yield context.call_sub_orchestrator("greeting_orchestration")
    return f"Parent received: {result}"


@bp.orchestration_trigger(context_name="context")
def counter_orchestration(context: df.DurableOrchestrationContext):
    entity_id = df.EntityId("counter_entity", "sample-counter")
    yield context.call_entity(entity_id, "add", 10)
    yield context.call_entity(entity_id, "add", 20)
    value = yield context.call_entity(entity_id, "get")
    return value


@bp.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello, {name}!"


@bp.entity_trigger(context_name="context")
def counter_entity(context: df.DurableEntityContext):
    state = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        state += context.get_input()
    elif operation == "reset":
        state = 0
    elif operation == "get":
        context.set_result(state)
    context.set_state(state)


@bp.durable_client_input(client_name="client")
@app.route(route="orchestrators/greeting", methods=["POST"])
async def start_greeting(req: func.HttpRequest, client) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(client)
    instance_id = await client.start_new("greeting_orchestration")
    return client.create_check_status_response(req, instance_id)


@bp.durable_client_input(client_name="client")
@app.route(route="orchestrators/fanout", methods=["POST"])
async def start_fan_out(req: func.HttpRequest, client) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(client)
    instance_id = await client.start_new("fan_out_orchestration")
    return client.create_check_status_response(req, instance_id)


@bp.durable_client_input(client_name="client")
@app.route(route="orchestrators/parent", methods=["POST"])
async def start_parent(req: func.HttpRequest, client) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(client)
    instance_id = await client.start_new("parent_orchestration")
    return client.create_check_status_response(req, instance_id)


@bp.durable_client_input(client_name="client")
@app.route(route="orchestrators/counter", methods=["POST"])
async def start_counter(req: func.HttpRequest, client) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(client)
    instance_id = await client.start_new("counter_orchestration")
    return client.create_check_status_response(req, instance_id)


@bp.durable_client_input(client_name="client")
@app.route(route="start/{name}", methods=["POST"])
async def start_any(req: func.HttpRequest, client) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(client)
    instance_id = await client.start_new(req.route_params.get("name"))
    return client.create_check_status_response(req, instance_id)


app.register_functions(bp)
