import azure.durable_functions as df
import azure.functions as func

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client):
    function_name = req.route_params.get("functionName")
    version = req.params.get("version")
    if version:
        instance_id = await client.start_new(function_name, version=version)
    else:
        instance_id = await client.start_new(function_name)
    return client.create_check_status_response(req, instance_id)


@myApp.orchestration_trigger(context_name="context")
def my_orchestrator(context: df.DurableOrchestrationContext):
    if context.version == "1.0":
        activity_result = yield context.call_activity("activity_a")
    else:
        activity_result = yield context.call_activity("activity_b")
    context.set_custom_status("Waiting for Continue event...")
    yield context.wait_for_external_event("Continue")
    context.set_custom_status("Continue event received")
    explicit = yield context.call_sub_orchestrator("my_sub_orchestrator", version="0.9")
    default = yield context.call_sub_orchestrator("my_sub_orchestrator")
    return [
        f"Orchestration version: {context.version}",
        f"Suborchestration version (explicit): {explicit}",
        f"Suborchestration version (default): {default}",
        activity_result,
    ]


@myApp.orchestration_trigger(context_name="context")
def my_sub_orchestrator(context: df.DurableOrchestrationContext):
    return context.version


@myApp.activity_trigger(input_name="input")
def activity_a(input: str) -> str:
    return "Hello from A!"


@myApp.activity_trigger(input_name="input")
def activity_b(input: str) -> str:
    return "Hello from B!"
