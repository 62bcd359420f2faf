import azure.durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="ctx", orchestration="greet")
def greet_orchestrator(ctx: df.DurableOrchestrationContext):
    text = yield ctx.call_activity("shout", ctx.get_input())
    return text


@bp.activity_trigger(input_name="word", activity="shout")
def shout_activity(word: str) -> str:
    return word.upper() + "!"


@bp.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
@bp.durable_client_input(client_name="client")
async def every_five_minutes(timer, client) -> None:
    await client.start_new("greet", None, "past due" if timer.past_due else "on time")
