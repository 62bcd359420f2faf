import json
import time
import uuid
from datetime import datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start_monitoring_job", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start_monitoring_job(req: func.HttpRequest, client):
    try:
        try:
            body = req.get_json() if req.get_body() else None
        except ValueError:
            body = None
        job = {"job_id": body.get("job_id", f"job-{uuid.uuid4()}") if body else f"job-{uuid.uuid4()}",
               "polling_interval_seconds": body.get("polling_interval_seconds", 5) if body else 5,
               "timeout_seconds": body.get("timeout_seconds", 30) if body else 30}
        instance_id = await client.start_new("monitoring_job_orchestrator", client_input=job)
        return client.create_check_status_response(req, instance_id)
    except Exception as exc:
        return func.HttpResponse(json.dumps({"error": f"Failed to start orchestration: {exc}"}), status_code=500,
                                 mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def monitoring_job_orchestrator(context: df.DurableOrchestrationContext):
    job = context.get_input()
    job_id = job.get("job_id")
    interval, timeout = job.get("polling_interval_seconds", 5), job.get("timeout_seconds", 30)
    started = context.current_utc_datetime
    expires = started + timedelta(seconds=timeout)
    status = {"job_id": job_id, "status": "Unknown", "check_count": 0}
    while True:
        status = yield context.call_activity("check_job_status",
                                             {"job_id": job_id, "check_count": status.get("check_count", 0)})
        context.set_custom_status(status)
        if status["status"] == "Completed":
            break
        if context.current_utc_datetime >= expires:
            status["status"] = "Timeout"
            break
        yield context.call_activity("wait_for_interval", interval)
    return {"job_id": job_id, "final_status": status["status"], "checks_performed": status["check_count"],
            "monitoring_duration_seconds": (context.current_utc_datetime - started).total_seconds()}


@app.activity_trigger(input_name="jobData")
def check_job_status(jobData: dict) -> dict:
    count = jobData.get("check_count", 0)
    return {"job_id": jobData.get("job_id", "unknown"), "status": "Completed" if count >= 3 else "Running",
            "check_count": count + 1, "last_check_time": datetime.utcnow().isoformat()}


@app.activity_trigger(input_name="intervalSeconds")
def wait_for_interval(intervalSeconds: int) -> str:
    time.sleep(intervalSeconds)
    return f"Waited for {intervalSeconds} seconds"


@app.route(route="job_status/{jobId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_job_status(req: func.HttpRequest, client):
    return func.HttpResponse(json.dumps({"job_id": req.route_params.get("jobId"), "status": "Running",
                                         "progress_percent": 75}), mimetype="application/json")
