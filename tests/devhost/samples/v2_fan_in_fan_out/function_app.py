import json
import os
import pathlib

import azure.durable_functions as df
import azure.functions as func
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
connect_str = os.getenv("AzureWebJobsStorage")


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def durable_trigger(req: func.HttpRequest, client):
    payload = json.loads(req.get_body().decode())
    instance_id = await client.start_new(req.route_params["functionName"], client_input=payload)
    return client.create_check_status_response(req, instance_id)


@myApp.orchestration_trigger(context_name="context")
def E2_BackupSiteContent(context: df.DurableOrchestrationContext):
    root_directory = context.get_input()
    if not root_directory:
        raise Exception("A directory path is required as input")
    files = yield context.call_activity("E2_GetFileList", root_directory)
    sizes = yield context.task_all([context.call_activity("E2_CopyFileToBlob", f) for f in files])
    return sum(sizes)


@myApp.activity_trigger(input_name="rootDirectory")
def E2_GetFileList(rootDirectory):
    found = []
    for path, _, files in os.walk(rootDirectory):
        if "E2_" in path:
            found += [os.path.join(path, n) for n in files if n in ("__init__.py", "function.json")]
    return found


@myApp.activity_trigger(input_name="filePath")
def E2_CopyFileToBlob(filePath):
    service = BlobServiceClient.from_connection_string(connect_str)
    try:
        service.create_container("backups")
    except ResourceExistsError:
        pass
    parent, name = pathlib.Path(filePath).parts[-2:]
    blob = service.get_blob_client(container="backups", blob=f"{parent}_{name}")
    with open(filePath, "rb") as data:
        blob.upload_blob(data)
    return os.path.getsize(filePath)
