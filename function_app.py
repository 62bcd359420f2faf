"""The Functions app: builds the DFApp and registers the blueprints. Nothing else lives here."""

import azure.durable_functions as df
import azure.functions as func

from activities.runs import bp as run_activities
from orchestrators.azureml_pipeline import bp as azureml_pipeline
from starters.runs_api import bp as runs_api

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (runs_api, azureml_pipeline, run_activities):
    app.register_functions(blueprint)
