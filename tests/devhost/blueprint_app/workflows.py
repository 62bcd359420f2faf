import azure.durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="ctx", orchestration="greet")
def greet_orchestrator(ctx: df.DurableOrchestrationContext):
    text = yield ctx.call_activity("shout", ctx.get_input())
    return text


@bp.activity_trigger(input_name="word", activity="shout")
def shout_activity(word: str) -> str:
    return word.upper() + "!"
