"""The benchmark's workload: monitor-style orchestrations (durable timer, then a status activity, in a loop)."""

from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def monitor(context: df.DurableOrchestrationContext):
    polls = context.get_input()
    for n in range(polls):
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
        state = yield context.call_activity("check", n)
        context.set_custom_status({"polls": n + 1, "state": state})
    return polls


@app.activity_trigger(input_name="n")
def check(n: int) -> str:
    return "running" if n % 7 else "queued"
