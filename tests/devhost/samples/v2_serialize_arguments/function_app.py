import azure.durable_functions as df
import azure.functions as func
from shared_code.MyClasses import SerializableClass

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def durable_trigger(req: func.HttpRequest, client):
    instance_id = await client.start_new(req.route_params.get("functionName"), client_input=SerializableClass(5))
    return client.create_check_status_response(req, instance_id)


@myApp.orchestration_trigger(context_name="context")
def orchestrator(context: df.DurableOrchestrationContext):
    value: SerializableClass = context.get_input()
    number = value.show_number()
    yield context.call_activity("simple_activity", SerializableClass(5))
    return number


@myApp.activity_trigger(input_name="payload")
def simple_activity(payload):
    return payload
