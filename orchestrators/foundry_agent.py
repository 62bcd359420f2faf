"""Job type `foundry_agent`: a user message and an agent run on a thread (new, or the one given)."""

import azure.durable_functions as df

from core.job_types import job_type
from core.poll_policy import PollPolicy

from .poll_loop import run_job

JOB_TYPE = job_type("foundry_agent")
# Agent runs take seconds to minutes and expire ten minutes after creation (foundry-agents.md §3): poll
# at 1 s, growing to 5 s (client 5: "1 s, growing to ~5 s"). At 5 s a cap-length outage is tolerated for
# about five minutes (60 errors), and an unmapped status for ten (an agent run is over by then anyway).
POLICY = PollPolicy(first_interval=1.0, growth=1.5, max_interval=5.0, transient_budget=60, unknown_budget=600.0)

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context", orchestration=JOB_TYPE.orchestrator)
def foundry_agent(context: df.DurableOrchestrationContext):
    """Start the agent run, poll it to the end, cancel on request, timeout or requires_action, write outputs."""
    return (yield from run_job(context, POLICY))
