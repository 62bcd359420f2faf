"""Job type `abacus_pipeline`: one version of an Abacus.AI pipeline, run with the run's typed variables."""

import azure.durable_functions as df

from core.job_types import job_type
from core.poll_policy import PollPolicy

from .poll_loop import run_job

JOB_TYPE = job_type("abacus_pipeline")
# Pipelines run minutes to hours (a step may run 300 minutes by default, abacus-pipelines.md §2). The SDK
# polls from 2 s up to 15 s (§3, client 4); here each poll is a durable timer, an activity and a
# describePipelineVersion that carries every step version, so: 5 s, growing to 30 s. An unmapped status
# (COMPLETED, or a terminal word nobody documented) is polled for 15 minutes, then the pending steps are
# skipped and the run fails. After a cancel the version ends only when its running steps do (there is no
# cancel call, platforms/abacus/client.py): the loop waits for that up to the default cancel budget
# (15 minutes) and then reports Cancelled anyway.
POLICY = PollPolicy(first_interval=5.0, growth=1.5, max_interval=30.0, unknown_budget=900.0)

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context", orchestration=JOB_TYPE.orchestrator)
def abacus_pipeline(context: df.DurableOrchestrationContext):
    """Run the pipeline version, poll it to the end, skip its pending steps on cancel or timeout, write outputs."""
    return (yield from run_job(context, POLICY))
