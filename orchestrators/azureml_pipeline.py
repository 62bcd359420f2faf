"""Job type `azureml_pipeline`: a clone of a template pipeline job with input overrides."""

import azure.durable_functions as df

from core.job_types import register_job_type
from core.poll_policy import PollPolicy

from .poll_loop import run_job

JOB_TYPE = register_job_type("azureml_pipeline", orchestrator="azureml_pipeline")
# Pipelines run for minutes to hours: start at 5 s, grow to one minute (each poll is one ARM read).
POLICY = PollPolicy(first_interval=5.0, growth=1.5, max_interval=60.0)

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context", orchestration=JOB_TYPE.orchestrator)
def azureml_pipeline(context: df.DurableOrchestrationContext):
    """Submit the clone, poll it to the end, cancel on request or timeout, write outputs back."""
    return (yield from run_job(context, POLICY))
