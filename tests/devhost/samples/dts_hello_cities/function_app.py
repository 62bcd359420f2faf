import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
CITIES = ["Tokyo", "Seattle", "London", "Paris", "Berlin"]


@app.orchestration_trigger(context_name="context")
def chaining_orchestration(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("say_hello", "Tokyo")
    second = yield context.call_activity("say_hello", "Seattle")
    third = yield context.call_activity("say_hello", "London")
    return [first, second, third]


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in_orchestration(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("say_hello", city) for city in CITIES])
    return results


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@app.route(route="StartChaining", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_chaining(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new("chaining_orchestration")
    return client.create_check_status_response(req, instance_id)


@app.route(route="StartFanOutFanIn", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_fan_out_fan_in(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new("fan_out_fan_in_orchestration")
    return client.create_check_status_response(req, instance_id)
