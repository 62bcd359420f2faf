import json
import os

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
DEFAULT_PAYLOAD_SIZE_KB = 100
DEFAULT_ACTIVITY_COUNT = 5


def generate_large_payload(size_kb: int) -> str:
    return json.dumps({"size_kb": size_kb, "data": "x" * (size_kb * 1024 - 50)})


@app.route(route="startlargepayload", methods=["POST", "GET"])
@app.durable_client_input(client_name="client")
async def start_large_payload(req: func.HttpRequest, client):
    instance_id = await client.start_new("large_payload_orchestrator")
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def large_payload_orchestrator(context: df.DurableOrchestrationContext):
    count = int(os.environ.get("ACTIVITY_COUNT", DEFAULT_ACTIVITY_COUNT))
    size_kb = int(os.environ.get("PAYLOAD_SIZE_KB", DEFAULT_PAYLOAD_SIZE_KB))
    results = yield context.task_all([context.call_activity("process_large_data",
                                                            {"task_id": i, "payload_size_kb": size_kb})
                                      for i in range(count)])
    return {"items_processed": len(results), "total_size_kb": sum(r["size_kb"] for r in results),
            "individual_sizes": [r["size_kb"] for r in results]}


@app.activity_trigger(input_name="input")
def process_large_data(input: dict) -> dict:
    return {"task_id": input["task_id"], "size_kb": input["payload_size_kb"],
            "payload": generate_large_payload(input["payload_size_kb"])}


@app.route(route="hello", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("Hello from Large Payload Sample!")
