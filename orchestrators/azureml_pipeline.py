"""Job type `azureml_pipeline`: a clone of a template pipeline job with input overrides."""

import azure.durable_functions as df

from core.job_types import job_type
from core.poll_policy import PollPolicy

from .poll_loop import run_job

JOB_TYPE = job_type("azureml_pipeline")
# Pipelines run for minutes to days and each poll is one ARM read: start at 5 s, double to one minute, then
# let the cap follow 5% of the time the job has been running, up to an hour. The run notices the job's end
# within max(1 min, 5% of its running time): ~64 polls for 2 h, ~117 for 24 h (bench/platform_load.py).
# A status change does not restart the backoff: a pipeline passes through up to six statuses, and each
# restart from 5 s cost ~5 polls without bringing the end any closer. Jitter of 5% still spreads many runs.
# A poll adds about 8 history events: continue-as-new every 30 polls keeps an execution under 300 events.
# With the workspace's Event Grid events wired (CONNECTIONS__<name>__events=eventgrid), each status change wakes
# the run and it polls at once; once the first event arrived, polling is only the safety net for a lost one:
# hourly (about 12 reads + one per hour of running, with the end noticed within seconds).
POLICY = PollPolicy(first_interval=5.0, growth=2.0, max_interval=60.0, jitter=0.05, reset_on_change=False,
                    elapsed_fraction=0.05, max_elapsed_interval=3600.0, polls_per_execution=30,
                    safety_net=3600.0)

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context", orchestration=JOB_TYPE.orchestrator)
def azureml_pipeline(context: df.DurableOrchestrationContext):
    """Submit the clone, poll it to the end, cancel on request or timeout, write outputs back."""
    return (yield from run_job(context, POLICY))
