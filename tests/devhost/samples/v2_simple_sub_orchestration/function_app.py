import azure.durable_functions as df
import azure.functions as func

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def durable_trigger(req: func.HttpRequest, client):
    instance_id = await client.start_new(req.route_params.get("functionName"))
    return client.create_check_status_response(req, instance_id)


@myApp.orchestration_trigger(context_name="context")
def orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_sub_orchestrator("sub_orchestrator", "Seattle")
    return result


@myApp.orchestration_trigger(context_name="context")
def sub_orchestrator(context: df.DurableOrchestrationContext):
    greeting = yield context.call_activity("hello", context.get_input())
    return greeting


@myApp.activity_trigger(input_name="name")
def hello(name: str):
    return "Hello " + name
