import json
from datetime import datetime

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="human_interaction", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start_approval_process(req: func.HttpRequest, client):
    try:
        body = req.get_json()
        request = {
            "request_type": body.get("request_type", "expense_approval") if body else "expense_approval",
            "amount": body.get("amount", 1500.00) if body else 1500.00,
            "requester": body.get("requester", "john.doe@company.com") if body else "john.doe@company.com",
            "description": body.get("description", "Business travel expenses") if body else "Business travel",
            "timeout_minutes": body.get("timeout_minutes", 10) if body else 10,
        }
        instance_id = await client.start_new("human_interaction_orchestrator", client_input=request)
        return client.create_check_status_response(req, instance_id)
    except Exception as exc:
        return func.HttpResponse(json.dumps({"error": f"Failed to start orchestration: {exc}"}), status_code=500,
                                 mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def human_interaction_orchestrator(context: df.DurableOrchestrationContext):
    data = context.get_input()
    request = {"approval_id": context.instance_id, "request_type": data["request_type"], "amount": data["amount"],
               "requester": data["requester"], "description": data["description"],
               "created_at": context.current_utc_datetime.isoformat(), "timeout_minutes": data["timeout_minutes"]}
    yield context.call_activity("send_approval_request", request)
    context.set_custom_status({"approval_id": request["approval_id"], "status": "waiting_for_approval",
                               "timeout_minutes": data["timeout_minutes"],
                               "approval_url": f"http://localhost:7071/api/approve/{request['approval_id']}"})
    try:
        response = yield context.wait_for_external_event("approval_response")
        if isinstance(response, str):
            try:
                response = json.loads(response)
            except ValueError:
                response = {"approved": True, "approver": "unknown", "comments": "Parsed from string"}
        result = yield context.call_activity("process_approval", {
            "approval_request": request, "approval_response": response,
            "status": "approved" if response.get("approved") else "rejected"})
    except Exception:
        result = yield context.call_activity("process_approval", {
            "approval_request": request, "approval_response": None, "status": "error"})
    return result


@app.activity_trigger(input_name="approvalRequest")
def send_approval_request(approvalRequest: dict) -> dict:
    return {"approval_id": approvalRequest["approval_id"], "notification_sent": True,
            "sent_at": datetime.utcnow().isoformat()}


@app.activity_trigger(input_name="approvalData")
def process_approval(approvalData: dict) -> dict:
    request, response, status = (approvalData["approval_request"], approvalData["approval_response"],
                                  approvalData["status"])
    result = {"approval_id": request["approval_id"], "request_type": request["request_type"],
              "amount": request["amount"], "requester": request["requester"], "status": status}
    if status == "approved":
        result.update({"approved_by": response.get("approver", "unknown"),
                       "approval_comments": response.get("comments", "")})
    elif status == "rejected":
        result.update({"rejected_by": response.get("approver", "unknown"),
                       "rejection_reason": response.get("comments", "No reason provided")})
    return result


@app.route(route="approve/{approvalId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def submit_approval(req: func.HttpRequest, client):
    instance_id = req.route_params.get("approvalId")
    try:
        body = req.get_json()
        response = {"approved": body.get("approved", False) if body else False,
                    "approver": body.get("approver", "manager@company.com") if body else "manager@company.com",
                    "comments": body.get("comments", "") if body else "",
                    "approved_at": datetime.utcnow().isoformat()}
        await client.raise_event(instance_id, "approval_response", response)
        return func.HttpResponse(json.dumps({"message": f"Approval decision submitted for {instance_id}",
                                             "instance_id": instance_id, "event_raised": True}),
                                 mimetype="application/json")
    except Exception as exc:
        return func.HttpResponse(json.dumps({"error": f"Failed to submit approval: {exc}"}), status_code=500,
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

