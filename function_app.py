"""The Functions app: builds the DFApp and registers the blueprints. Nothing else lives here."""

import importlib

import azure.durable_functions as df
import azure.functions as func

from activities.notify import bp as notify_activities
from activities.runs import bp as run_activities
from core.job_types import registered_job_types
from maintenance.orphan_sweeper import bp as orphan_sweeper
from maintenance.sweep_notes import bp as sweep_notes
from orchestrators.chain import bp as chains
from orchestrators.notify import bp as event_delivery
from starters.azureml_events import bp as azureml_events
from starters.chains_api import bp as chains_api
from starters.connections_api import bp as connections_api
from starters.dashboard_api import bp as dashboard_api
from starters.notifications_api import bp as notifications_api
from starters.openapi_api import bp as openapi_api
from starters.queue_starter import bp as queue_starter
from starters.runs_api import bp as runs_api

BLUEPRINTS = (
    runs_api,
    queue_starter,
    chains_api,
    connections_api,
    notifications_api,
    openapi_api,
    dashboard_api,
    orphan_sweeper,
    sweep_notes,
    azureml_events,
    chains,
    # one orchestrator per job type: orchestrators/<job type>.py, from the job-type table
    *(importlib.import_module(job.orchestrator_module).bp for job in registered_job_types().values()),
    run_activities,
    event_delivery,
    notify_activities,
)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
