import json
import time
from datetime import datetime

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="eternal_orchestration", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start_eternal_orchestration(req: func.HttpRequest, client):
    try:
        body = req.get_json()
        config = {
            "task_type": body.get("task_type", "health_check") if body else "health_check",
            "interval_minutes": body.get("interval_minutes", 2) if body else 2,
            "max_iterations": body.get("max_iterations", 5) if body else 5,
            "target_url": body.get("target_url", "https://httpbin.org/status/200") if body
            else "https://httpbin.org/status/200",
        }
        instance_id = await client.start_new("eternal_orchestrator", client_input=config)
        return client.create_check_status_response(req, instance_id)
    except Exception as exc:
        return func.HttpResponse(json.dumps({"error": f"Failed to start orchestration: {exc}"}), status_code=500,
                                 mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def eternal_orchestrator(context: df.DurableOrchestrationContext):
    config = context.get_input()
    iteration = config.get("current_iteration", 1)
    limit = config.get("max_iterations", 5)
    context.set_custom_status({"current_iteration": iteration, "max_iterations": limit,
                               "task_type": config["task_type"], "status": "executing_task"})
    result = yield context.call_activity("execute_periodic_task", {**config, "iteration": iteration})
    if iteration >= limit:
        return {"status": "completed", "total_iterations": iteration, "final_result": result}
    context.set_custom_status({"current_iteration": iteration, "max_iterations": limit,
                               "task_type": config["task_type"], "status": "waiting_for_next_iteration"})
    yield context.call_activity("wait_for_interval", {"interval_minutes": config.get("interval_minutes", 2)})
    context.continue_as_new({**config, "current_iteration": iteration + 1})


@app.activity_trigger(input_name="taskConfig")
def execute_periodic_task(taskConfig: dict) -> dict:
    import requests

    started = time.time()
    try:
        if taskConfig["task_type"] == "health_check":
            response = requests.get(taskConfig["target_url"], timeout=10)
            success, details = response.status_code == 200, {"status_code": response.status_code}
        elif taskConfig["task_type"] == "cleanup":
            time.sleep(0.5)
            success, details = True, {"files_cleaned": 25, "duration_ms": round((time.time() - started) * 1000, 2)}
        else:
            success, details = True, {"message": f"Executed {taskConfig['task_type']} task"}
    except Exception as exc:
        success, details = False, {"error": str(exc)}
    return {"iteration": taskConfig["iteration"], "task_type": taskConfig["task_type"], "success": success,
            "executed_at": datetime.utcnow().isoformat(), "details": details}


@app.activity_trigger(input_name="waitConfig")
def wait_for_interval(waitConfig: dict) -> dict:
    seconds = min(waitConfig.get("interval_minutes", 2) * 60, 120)
    time.sleep(seconds)
    return {"requested_wait_seconds": seconds}


@app.route(route="stop/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def stop_eternal_orchestration(req: func.HttpRequest, client):
    instance_id = req.route_params.get("instanceId")
    try:
        await client.terminate(instance_id, "Stopped by user request")
        return func.HttpResponse(json.dumps({"message": f"Eternal orchestration {instance_id} has been stopped"}),
                                 mimetype="application/json")
    except Exception as exc:
        return func.HttpResponse(json.dumps({"error": f"Failed to stop orchestration: {exc}"}), status_code=500,
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

