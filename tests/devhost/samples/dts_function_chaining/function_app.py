import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="function_chaining", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start_function_chaining(req: func.HttpRequest, client):
    try:
        body = req.get_json()
        name = body.get("name", "World") if body else "World"
        instance_id = await client.start_new("function_chaining_orchestrator", client_input=name)
        return client.create_check_status_response(req, instance_id)
    except Exception as exc:
        return func.HttpResponse(json.dumps({"error": f"Failed to start orchestration: {exc}"}), status_code=500,
                                 mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def function_chaining_orchestrator(context: df.DurableOrchestrationContext):
    greeting = yield context.call_activity("say_hello", context.get_input())
    processed = yield context.call_activity("process_greeting", greeting)
    final = yield context.call_activity("finalize_response", processed)
    return final


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="greeting")
def process_greeting(greeting: str) -> str:
    return f"{greeting} How are you today?"


@app.activity_trigger(input_name="response")
def finalize_response(response: str) -> str:
    return f"{response} I hope you're doing well!"


@app.route(route="status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_orchestration_status(req: func.HttpRequest, client):
    status = await client.get_status(req.route_params.get("instanceId"))
    if not status:
        return func.HttpResponse(json.dumps({"error": "Orchestration not found"}), status_code=404,
                                 mimetype="application/json")
    return func.HttpResponse(json.dumps({
        "instanceId": status.instance_id, "name": status.name, "runtimeStatus": status.runtime_status,
        "input": status.input_, "output": status.output, "customStatus": status.custom_status,
        "createdTime": status.created_time.isoformat() if status.created_time else None,
        "lastUpdatedTime": status.last_updated_time.isoformat() if status.last_updated_time else None,
    }, default=str), mimetype="application/json")

