import json
import random
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
DEFAULT_ITEMS = ["Item1", "Item2", "Item3", "Item4", "Item5"]


@app.route(route="fan_out_fan_in", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start_fan_out_fan_in(req: func.HttpRequest, client):
    try:
        body = req.get_json()
        items = body.get("workItems", DEFAULT_ITEMS) if body else DEFAULT_ITEMS
        instance_id = await client.start_new("fan_out_fan_in_orchestrator", client_input=items)
        return client.create_check_status_response(req, instance_id)
    except Exception as exc:
        return func.HttpResponse(json.dumps({"error": f"Failed to start orchestration: {exc}"}), status_code=500,
                                 mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in_orchestrator(context: df.DurableOrchestrationContext):
    tasks = [context.call_activity("process_work_item", item) for item in context.get_input()]
    results = yield context.task_all(tasks)
    aggregated = yield context.call_activity("aggregate_results", results)
    return aggregated


@app.activity_trigger(input_name="workItem")
def process_work_item(workItem: str) -> dict:
    seconds = random.uniform(0.5, 2.0)
    time.sleep(seconds)
    return {"item": workItem, "processed": True, "processing_time": round(seconds, 2),
            "result": f"Processed_{workItem}", "value": random.randint(10, 100)}


@app.activity_trigger(input_name="results")
def aggregate_results(results: list) -> dict:
    total = sum(r["value"] for r in results)
    return {"total_items_processed": len(results), "total_value": total,
            "average_value": round(total / len(results), 2),
            "total_processing_time": round(sum(r["processing_time"] for r in results), 2),
            "processed_items": [r["result"] for r in results], "success": True}


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

