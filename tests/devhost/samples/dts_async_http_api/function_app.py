import json
import time
import uuid

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="async_http_api", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start_async_operation(req: func.HttpRequest, client):
    try:
        body = req.get_json()
        operation = {
            "operation_type": body.get("operation_type", "data_processing") if body else "data_processing",
            "duration": body.get("duration", 30) if body else 30,
            "data": body.get("data", {"sample": "data"}) if body else {"sample": "data"},
        }
        instance_id = await client.start_new("async_http_api_orchestrator", client_input=operation)
        return client.create_check_status_response(req, instance_id)
    except Exception as exc:
        return func.HttpResponse(json.dumps({"error": f"Failed to start orchestration: {exc}"}), status_code=500,
                                 mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def async_http_api_orchestrator(context: df.DurableOrchestrationContext):
    request = {**context.get_input(), "operation_id": str(uuid.uuid4()),
               "started_at": context.current_utc_datetime.isoformat()}
    result = yield context.call_activity("long_running_operation", request)
    return result


@app.activity_trigger(input_name="operationRequest")
def long_running_operation(operationRequest: dict) -> dict:
    phases = ["initializing", "processing", "validating", "finalizing"]
    started = time.time()
    for _ in phases:
        time.sleep(operationRequest["duration"] / len(phases))
    return {"operation_id": operationRequest["operation_id"], "operation_type": operationRequest["operation_type"],
            "status": "completed", "started_at": operationRequest["started_at"],
            "duration_seconds": round(time.time() - started, 2), "input_data": operationRequest["data"],
            "output_data": {"processed": True, "phases_completed": phases, "total_items_processed": 1000}}


@app.route(route="cancel/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def cancel_operation(req: func.HttpRequest, client):
    instance_id = req.route_params.get("instanceId")
    try:
        await client.terminate(instance_id, "Operation cancelled by user request")
        return func.HttpResponse(json.dumps({"message": f"Operation {instance_id} has been cancelled"}),
                                 mimetype="application/json")
    except Exception as exc:
        return func.HttpResponse(json.dumps({"error": f"Failed to cancel operation: {exc}"}), status_code=500,
                                 mimetype="application/json")


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

