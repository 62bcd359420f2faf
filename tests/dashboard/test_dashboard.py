"""The runs dashboard in headless Chromium, over the real stack (devhost + simulators, virtual clock).

Each test works the page as an operator would (clicks, typing, a confirmation dialog) and checks what the
page shows against what the HTTP API says, keeping a screenshot of each page under tests/artifacts/dashboard.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests

from tests.e2e.conftest import train_request

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_api.expect
ENDED = 30_000  # ms a run may take to end on the virtual clock (the page refreshes every 3 s)


def _run_ids(stack) -> set[str]:
    return {run["id"] for run in requests.get(f"{stack.api}/runs", timeout=10).json()["runs"]}


def test_a_run_started_from_the_form_reaches_success(dashboard, stack):
    page = dashboard.open("#/connections")
    expect(page.locator("#connections tbody tr")).to_have_count(3)  # one per simulated platform
    dashboard.shot("connections")
    page.locator("tr[data-connection='azureml-sim'] a").first.click()
    expect(page.locator("#jobs")).to_contain_text("train-pipeline")
    dashboard.shot("connection-jobs")
    page.locator("tr[data-job='train-pipeline'] a.run-link").click()
    expect(page.locator("#run-form")).to_be_visible()
    expect(page.locator("[data-field='parameters[0].value']")).to_have_value("0.01")  # the template's default
    page.fill("[data-field='runId']", "dash-ok")
    page.fill("[data-field='parameters[0].value']", "0.2")
    dashboard.shot("run-form")
    page.click("#start-run")

    expect(page).to_have_url(re.compile(r"#/runs/dash-ok$"))
    expect(page.locator("h1 .badge")).to_have_text("Success", timeout=ENDED)
    run = stack.get_run("dash-ok")
    assert run["status"] == "Success"
    assert {"name": "learning_rate", "direction": "Input", "value": "0.2"} in run["parameters"]
    expect(page.locator("[data-testid='remote-status']")).to_have_text(run["remoteStatus"])
    expect(page.locator("[data-testid='monitor-link']")).to_have_attribute("href", run["monitorUrl"])
    expect(page.locator("#outputs")).to_contain_text(run["outputs"]["model_uri"])
    expect(page.locator("#parameters")).to_contain_text(run["outputs"]["model_uri"])  # written back
    # the timeline draws every moment the API lists, in order: accepted, submitted, each poll with the status
    # it saw, outputs read, the end (tests/e2e covers a run whose timeline spans continue-as-new)
    points = requests.get(f"{stack.api}/runs/dash-ok/history", timeout=10).json()["timeline"]
    timeline = page.locator("#timeline")
    drawn = timeline.locator("[data-kind]").evaluate_all("nodes => nodes.map(n => n.dataset.kind)")
    assert drawn == [p["kind"] for p in points]
    assert drawn[:2] == ["started", "submitted"] and drawn[-2:] == ["outputs", "ended"]
    assert next(p["status"] for p in points if p["kind"] == "poll") == "Starting"
    expect(timeline.locator("rect[data-kind='ended']")).to_have_class(re.compile(r"\bSuccess\b"))
    polls = [p for p in points if p["kind"] == "poll"]
    assert timeline.locator("circle[data-kind='poll']").count() == len(polls) >= 1
    assert timeline.locator("circle.Success").count() == sum(p["status"] == "Success" for p in polls) >= 1
    expect(page.locator("#cancel-run")).to_have_count(0)  # nothing to cancel once ended
    dashboard.shot("run-success", docs=True)

    # "Run again": the same job's form, filled with this run's values; a new run id, the same parameters
    page.click("#run-again")
    expect(page.locator("#run-form")).to_be_visible()
    expect(page.locator("[data-field='parameters[0].value']")).to_have_value("0.2")
    expect(page.locator("[data-field='runId']")).to_have_value("")
    page.fill("[data-field='runId']", "dash-again")
    page.click("#start-run")
    expect(page).to_have_url(re.compile(r"#/runs/dash-again$"))
    expect(page.locator("h1 .badge")).to_have_text("Success", timeout=ENDED)
    assert {"name": "learning_rate", "direction": "Input", "value": "0.2"} in stack.get_run("dash-again")["parameters"]


def test_cancel_asks_for_confirmation_then_cancels_the_remote_job(dashboard, stack):
    stack.pause_at(timedelta(minutes=8))  # train-pipeline runs from minute 2 to 22
    assert stack.post_run(train_request("dash-cancel")).status_code == 202
    stack.post_run(train_request("dash-keep"))
    stack.host.wait_idle()
    page = dashboard.open("#/runs/dash-cancel")
    expect(page.locator("h1 .badge")).to_have_text("Running")

    page.click("#cancel-run")  # first say no: nothing happens
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text("dash-cancel")
    page.click("#confirm-no")
    expect(page.locator("#confirm")).to_be_hidden()
    assert stack.host.get("dash-cancel").status == "Running"

    page.click("#cancel-run")
    dashboard.shot("cancel-confirm")
    page.click("#confirm-yes")
    stack.resume()
    expect(page.locator("h1 .badge")).to_have_text("Cancelled", timeout=ENDED)
    expect(page.locator("#run-error")).to_contain_text("Cancelled")
    expect(page.locator("#timeline [data-kind='cancel_requested']")).to_have_count(1)
    expect(page.locator("#timeline [data-kind='cancel_sent']")).to_have_count(1)
    dashboard.shot("run-cancelled")
    run = stack.get_run("dash-cancel")
    assert run["status"] == "Cancelled" and run["remoteStatus"] == "Canceled"
    assert stack.wait_run("dash-keep")["status"] == "Success"  # the other run was left alone
    stats = stack.sim_stats("azure_ml")
    assert stats["cancelsRequested"] == 1 and stats["runningNow"] == 0


def test_a_validation_error_is_shown_next_to_its_field_and_starts_nothing(dashboard, stack):
    before = _run_ids(stack)
    page = dashboard.open("#/connections/abacus-sim/run/simtrain01")
    expect(page.locator("#run-form")).to_be_visible()
    epochs = page.locator("label", has_text="epochs")
    field = page.locator("#" + epochs.get_attribute("for"))
    field.fill("2.5")  # epochs is INTEGER on the pipeline
    page.click("#start-run")
    error = page.locator(f"[data-error-for='{field.get_attribute('data-field')}']")
    expect(error).to_contain_text("whole number")
    expect(field).to_have_attribute("aria-invalid", "true")
    dashboard.shot("validation-error", docs=True)

    field.fill("3")
    page.fill("[data-field='runId']", "bad id!")
    page.click("#start-run")
    expect(page.locator("[data-error-for='runId']")).to_contain_text("letters, digits")
    expect(error).to_have_text("")  # the earlier message is gone once the field is right
    assert _run_ids(stack) == before


def test_the_runs_list_filters_by_status_and_pages(dashboard, stack):
    for run_id in ("list-a", "list-b", "list-c"):
        stack.post_run(train_request(run_id))
    failing = {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "failing-pipeline",
               "runId": "list-fail"}
    stack.post_run(failing)
    for run_id in ("list-a", "list-b", "list-c", "list-fail"):
        stack.wait_run(run_id)
    page = dashboard.open("#/runs")
    expect(page.locator("#runs tbody tr")).to_have_count(4)
    expect(page.locator("tr[data-run='list-fail'] .badge")).to_have_text("Failed")
    dashboard.shot("runs-list", docs=True)

    page.select_option("select[data-filter='status']", "Failed")
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    expect(page.locator("#runs")).to_contain_text("list-fail")
    page.select_option("select[data-filter='status']", "")

    page.goto(dashboard.url + "#/runs?pageSize=3")
    expect(page.locator("#runs tbody tr")).to_have_count(3)
    first_page = set(page.locator("#runs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)"))
    page.click("#next-page")
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    second_page = set(page.locator("#runs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)"))
    assert first_page | second_page == {"list-a", "list-b", "list-c", "list-fail"}
    expect(page.locator("#next-page")).to_be_disabled()
    page.click("#prev-page")
    expect(page.locator("#runs tbody tr")).to_have_count(3)


def test_the_list_refreshes_itself_as_runs_change(dashboard, stack):
    stack.pause_at(timedelta(minutes=8))
    stack.post_run(train_request("live-1"))
    stack.host.wait_idle()
    page = dashboard.open("#/runs")
    expect(page.locator("tr[data-run='live-1'] .badge")).to_have_text("Running")
    stack.resume()
    expect(page.locator("tr[data-run='live-1'] .badge")).to_have_text("Success", timeout=ENDED)


def test_an_agent_run_from_the_form_shows_the_answer(dashboard, stack):
    page = dashboard.open("#/connections/foundry-sim")
    page.locator("tr[data-job^='asst_echo'] a.run-link").click()
    message = page.locator("textarea[data-field]").first
    message.fill("Hello from the dashboard")
    # a parameter with choices is a list of them, its default chosen (when_thread_busy: fail or wait)
    busy = page.locator("select[data-field='parameters[3].value']")
    expect(busy).to_have_value("fail")
    assert busy.locator("option").all_text_contents() == ["(unset)", "fail", "wait"]
    busy.select_option("wait")
    page.fill("[data-field='runId']", "dash-agent")
    page.click("#start-run")
    expect(page.locator("h1 .badge")).to_have_text("Success", timeout=ENDED)
    chosen = {"name": "when_thread_busy", "direction": "Input", "value": "wait"}
    assert chosen in stack.get_run("dash-agent")["parameters"]
    expect(page.locator("#outputs")).to_contain_text("Hello from the dashboard")
    expect(page.locator("#outputs")).to_contain_text("thread_")


def test_hostile_values_are_shown_as_text_never_run(dashboard, stack):
    payload = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>"
    body = train_request("xss-1")
    body["parameters"][0]["value"] = payload
    assert stack.post_run(body).status_code == 202
    page = dashboard.open("#/runs/xss-1")
    expect(page.locator("#parameters")).to_contain_text(payload)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#parameters img, #parameters script").count() == 0


def test_the_page_is_locked_down_and_uses_only_this_origin(stack):
    response = requests.get(f"{stack.api}/dashboard", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"  # ?code= never leaks to a monitor page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", response.text)  # nothing from a CDN
    assert "innerHTML" not in response.text and "eval(" not in response.text


def test_a_failed_pipelines_steps_are_bars_on_its_timeline_with_times_and_error(dashboard, stack):
    failing = {"jobType": "azureml_pipeline", "connection": "azureml-sim", "job": "failing-pipeline",
               "runId": "dash-steps"}
    stack.post_run(failing)
    run = stack.wait_run("dash-steps")
    page = dashboard.open("#/runs/dash-steps")
    expect(page.locator("h1 .badge")).to_have_text("Failed")
    expect(page.locator("#run-error")).to_contain_text("Step train failed")
    bars = page.locator("#timeline rect.step")
    expect(bars).to_have_count(len(run["steps"]["items"]))
    assert bars.evaluate_all("nodes => nodes.map(n => n.dataset.status)") == ["Success", "Failed"]
    expect(bars.nth(0)).to_have_class(re.compile(r"\bSuccess\b"))
    expect(bars.nth(1)).to_have_class(re.compile(r"\bFailed\b"))
    tip = bars.nth(1).locator("title").text_content()
    train = run["steps"]["items"][1]
    assert tip.startswith("train · Failed (Failed)") and "loss became NaN" in tip
    assert train["startedAt"][:19].replace("T", " ") in tip  # the hover shows its times
    # bars follow time: the failing step starts where the first one ended, right of it
    first, second = (float(bars.nth(i).get_attribute("x")) for i in (0, 1))
    assert second > first
    assert page.locator("#timeline .step-label").all_text_contents() == ["prep", "train"]
    bars.nth(1).hover()
    dashboard.shot("run-steps", docs=True)
    assert not dashboard.problems, dashboard.problems


def test_an_agent_runs_page_shows_its_tokens(dashboard, stack):
    from tests.e2e.test_foundry_agent_runs import agent_request

    stack.post_run(agent_request("dash-usage", "hello"))
    run = stack.wait_run("dash-usage")
    page = dashboard.open("#/runs/dash-usage")
    usage = run["usage"]
    expect(page.locator("[data-testid='usage']")).to_have_text(
        f"{usage['totalTokens']} (prompt {usage['promptTokens']}, completion {usage['completionTokens']})")
    expect(page.locator("#timeline rect.step")).to_have_count(1)
    assert not dashboard.problems, dashboard.problems


def test_a_pipeline_of_500_steps_draws_the_steps_it_carries_and_counts_the_rest(dashboard, stack):
    from tests.e2e.test_run_steps import put_wide_pipeline

    put_wide_pipeline(stack)
    stack.post_run(train_request("dash-wide", job="wide-pipeline"))
    run = stack.wait_run("dash-wide")
    page = dashboard.open("#/runs/dash-wide")
    expect(page.locator("#timeline rect.step")).to_have_count(len(run["steps"]["items"]))
    expect(page.locator("#steps-omitted")).to_have_text(f"{run['steps']['omitted']} more steps not shown")
    dashboard.shot("run-steps-wide")
    assert not dashboard.problems, dashboard.problems
