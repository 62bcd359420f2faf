"""Hostile platforms (issue 19): every bad answer a gateway or platform sends is survived, nothing is left running.

For each platform and each call kind (submit, poll, cancel, outputs, history/details, discovery, connection
test) the simulator injects each fault kind of `simulators.faults.HOSTILE_KINDS` once, at that call (the n-th
request of the call's operation, n taken from the fault-free run's own request log), and also at 20% random
over every request (fixed seeds). For each run: the final status, error code and outputs equal the
fault-free run's, exactly one remote job was made, none is left running. Discovery and the connection test
answer as without faults, or with a clean JSON error to try again (never a wrong answer, never a 500),
and the next call answers as without faults. A table platform x call x fault -> outcome is printed and kept
in tests/artifacts/reliability-hostile.json (README "Reliability figures").

Everything runs on the one-process stack with the virtual clock; the three platforms go in parallel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from platforms import registry
from simulators.faults import HOSTILE_KINDS, Fault, FaultKind

from .support import request_for, write_figures

SEED = 19
RATE = 0.2
RANDOM_RUNS = 1  # per platform and run shape, at RATE
WALL_BUDGET = 240.0  # real seconds for the whole table (it takes far less)

# platform -> connection, the run of each shape (catalog kind, overrides), and each call kind's
# (operation, which of its requests in the fault-free run: "first", "middle" or "last").
PLATFORMS: dict[str, dict[str, Any]] = {
    "azure_ml": {
        "connection": "azureml-sim",
        "runs": {"normal": ("aml-train", {}), "timeout": ("aml-train", {"timeout": "PT5M"})},
        "calls": {"submit": ("normal", "Jobs_CreateOrUpdate", "first"), "poll": ("normal", "Jobs_Get", "middle"),
                  "outputs": ("normal", "Jobs_Get", "last"), "details": ("normal", "Runs_GetDetails", "first"),
                  "cancel": ("timeout", "Jobs_Cancel", "first"), "discovery": ("api", "Jobs_List", "first"),
                  "connection test": ("test", "Jobs_List", "first")},
    },
    "foundry_agents": {
        "connection": "foundry-sim",
        "runs": {"normal": ("agent-echo", {}), "timeout": ("agent-slow", {"timeout": "PT3M"})},
        "calls": {"submit": ("normal", "createThreadAndRun", "first"), "poll": ("normal", "getRun", "middle"),
                  "outputs": ("normal", "listMessages", "first"), "details": ("normal", "listThreads", "first"),
                  "cancel": ("timeout", "cancelRun", "first"), "discovery": ("api", "listAgents", "first"),
                  "connection test": ("test", "listAgents", "first")},
    },
    "abacus": {
        "connection": "abacus-sim",
        "runs": {"normal": ("abacus-quick", {}), "timeout": ("abacus-quick", {"timeout": "PT1M"})},
        "calls": {"submit": ("normal", "runPipeline", "first"), "poll": ("normal", "describePipelineVersion", "middle"),
                  "outputs": ("normal", "describePipelineVersion", "last"),
                  "details": ("normal", "listPipelineVersions", "first"),
                  "cancel": ("timeout", "skipPendingPipelineVersionSteps", "first"),
                  "discovery": ("api", "describePipeline", "first"),
                  "connection test": ("test", "listPipelines", "first")},
    },
}


# A pipeline like simtrain01 but minutes long (PENDING 10 s, steps of 90, 60 and 60 s), so the ~45 runs of the
# Abacus column take seconds; under a one-minute timeout its pending steps are skipped while `train` runs.
QUICK_PIPELINE = {
    "pipelineId": "hostile01", "pipelineName": "hostile_quick", "pendingSeconds": 10,
    "pipelineVariableMappings": [{"name": "learning_rate", "variableType": "FLOAT", "value": 0.01, "isRequired": True}],
    "steps": [{"stepName": "train", "seconds": 90,
               "outputVariableMappings": [{"name": "model_id", "variableType": "MODEL_ID"}]},
              {"stepName": "report", "seconds": 60, "stepDependencies": ["train"]},
              {"stepName": "publish", "seconds": 60, "stepDependencies": ["report"]}],
}


def _request(kind: str, run_id: str, index: int) -> dict[str, Any]:
    if kind != "abacus-quick":
        return request_for(kind, run_id, index)
    return {"jobType": "abacus_pipeline", "connection": "abacus-sim", "job": QUICK_PIPELINE["pipelineId"],
            "runId": run_id, "parameters": [{"name": "learning_rate", "value": f"0.{index:06d}", "direction": "Input"},
                                            {"name": "model_id", "direction": "Output"}]}


class PlatformCells:
    """The cells of one platform, run one after another (faults are matched by the order of requests)."""

    def __init__(self, stack: Any, platform: str) -> None:
        self.stack, self.platform, self.spec = stack, platform, PLATFORMS[platform]
        self.server = stack.simulation.servers[platform]
        self.index = 0
        self.clean: dict[str, dict[str, Any]] = {}
        self.table: dict[str, dict[str, str]] = {}
        self.problems: list[dict[str, Any]] = []

    # ---- runs ------------------------------------------------------------------------------------------
    def run(self, shape: str, label: str) -> dict[str, Any]:
        """One run of `shape` to its end; what it shows and what the simulator made for it."""
        kind, overrides = self.spec["runs"][shape]
        self.index += 1
        run_id = f"hostile-{self.platform}-{self.index:03d}"
        before = self.server.stats()["remoteJobsCreated"]
        log_start = len(self.server.request_log())
        response = self.stack.post_run({**_request(kind, run_id, self.index), **overrides})
        assert response.status_code == 202, response.text
        run = self.stack.wait_run(run_id, timeout=60)
        stats = self.server.stats()
        operations = [entry["operation"] for entry in self.server.request_log()[log_start:]]
        return {"label": label, "run": run, "made": stats["remoteJobsCreated"] - before,
                "running": stats["runningNow"], "operations": operations}

    def baseline(self) -> None:
        if self.platform == "abacus":
            requests.post(f"{self.server.url}/_sim/pipelines", json=QUICK_PIPELINE, timeout=10).raise_for_status()
        for shape in self.spec["runs"]:
            self.clean[shape] = self.run(shape, "clean")
        self.clean["api"] = self.discover()
        self.clean["test"] = self.probe()

    def skip_for(self, shape: str, operation: str, which: str) -> int:
        count = self.clean[shape]["operations"].count(operation) if shape in ("normal", "timeout") else 1
        assert count > 0, f"{self.platform}: the fault-free {shape} run sends no {operation}"
        return {"first": 0, "middle": count // 2, "last": count - 1}[which]

    def judge_run(self, shape: str, got: dict[str, Any]) -> str:
        clean = self.clean[shape]
        want, run = _shape(clean["run"]), _shape(got["run"])
        problems = []
        if run != want:
            problems.append(f"ended {run[0]}/{run[1]} outputs {list(run[2])} (without faults {want[0]}/{want[1]})")
        if got["made"] != 1:
            problems.append(f"{got['made']} remote jobs")
        if got["running"] > clean["running"]:
            problems.append(f"{got['running']} remote jobs left running")
        error = got["run"].get("error") or {}
        if got["run"]["status"] != "Success" and not error.get("message"):
            problems.append("no reason given")
        if problems:
            self.problems.append({"platform": self.platform, "cell": got["label"], "problems": problems,
                                  "run": {k: got["run"].get(k) for k in ("id", "status", "error", "outputs")}})
            return "FAIL: " + "; ".join(problems)
        return "same"

    # ---- API calls -------------------------------------------------------------------------------------
    def discover(self) -> dict[str, Any]:
        response = requests.get(f"{self.stack.api}/connections/{self.spec['connection']}/jobs", timeout=30)
        return {"status": response.status_code, "body": response.json()}

    def probe(self) -> dict[str, Any]:
        response = requests.post(f"{self.stack.api}/connections/{self.spec['connection']}/test", timeout=30)
        body = response.json()
        body.pop("latencyMs", None)
        return {"status": response.status_code, "body": body}

    def judge_api(self, what: str, got: dict[str, Any], again: dict[str, Any], label: str) -> str:
        clean = self.clean[what]
        problems = []
        if again != clean:
            problems.append("the next call answered differently")
        if got == clean:
            outcome = "same"
        elif what == "api" and got["status"] in (502, 503, 504) and "error" in got["body"]:
            outcome = f"{got['status']}, then same"
        elif what == "test" and got["status"] == 200 and got["body"].get("ok") is False and got["body"].get("hint"):
            outcome = "ok:false, then same"
        else:
            problems.append(f"answered {got['status']} {str(got['body'])[:120]}")
            outcome = ""
        if problems:
            self.problems.append({"platform": self.platform, "cell": label, "problems": problems})
            return "FAIL: " + "; ".join(problems)
        return outcome

    # ---- the table -------------------------------------------------------------------------------------
    def cell(self, call: str, fault: FaultKind) -> str:
        shape, operation, which = self.spec["calls"][call]
        label = f"{call} x {fault.value}"
        self.server.faults.script(Fault(fault, operation, skip=self.skip_for(shape, operation, which)))
        try:
            if shape == "api":
                registry.reset()  # a fresh client: the fault meets a platform call, not a cached description
                return self.judge_api(shape, self.discover(), self.discover(), label)
            if shape == "test":
                return self.judge_api(shape, self.probe(), self.probe(), label)
            return self.judge_run(shape, self.run(shape, label))
        except AssertionError as exc:  # the run did not end, or was refused: a cell of the table, not a crash
            self.problems.append({"platform": self.platform, "cell": label, "problems": [str(exc)[:300]]})
            return "FAIL: " + str(exc).splitlines()[0][:100]
        finally:
            self.server.faults.clear()

    def random_cells(self) -> None:
        self.server.faults.configure(rate=RATE, seed=SEED, kinds=HOSTILE_KINDS)
        try:
            for shape in self.spec["runs"]:
                outcomes = [self.judge_run(shape, self.run(shape, f"random 20% ({shape} run {n + 1})"))
                            for n in range(RANDOM_RUNS)]
                self.table.setdefault(f"{int(RATE * 100)}% random", {})[shape] = (
                    "same" if all(o.startswith("same") for o in outcomes) else "; ".join(outcomes))
        finally:
            self.server.faults.configure(rate=0.0)

    def all(self) -> None:
        self.baseline()
        for call in self.spec["calls"]:
            self.table[call] = {fault.value: self.cell(call, fault) for fault in HOSTILE_KINDS}
        self.random_cells()


def _shape(run: dict[str, Any]) -> tuple:
    return run["status"], (run.get("error") or {}).get("code"), tuple(sorted(run.get("outputs") or {}))


def _in_threads(jobs: list[Callable[[], None]]) -> list[BaseException]:
    failures: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WALL_BUDGET)
    return failures


def test_every_bad_answer_of_every_call_of_every_platform_is_survived(stack):
    started = time.monotonic()
    cells = {platform: PlatformCells(stack, platform) for platform in PLATFORMS}
    failures = _in_threads([cell.all for cell in cells.values()])
    seconds = time.monotonic() - started
    table = {platform: cell.table for platform, cell in cells.items()}
    problems = [problem for cell in cells.values() for problem in cell.problems]
    print("\n" + format_table(table))
    write_figures("hostile", {"seed": SEED, "rate": RATE, "faultKinds": [k.value for k in HOSTILE_KINDS],
                              "runs": sum(cell.index for cell in cells.values()), "table": table,
                              "problems": problems, "wallSeconds": round(seconds, 1)})
    assert not failures, failures
    assert problems == []


def format_table(table: dict[str, dict[str, dict[str, str]]]) -> str:
    """platform x call x fault -> outcome, as a Markdown table (one row per platform and call)."""
    kinds = [kind.value for kind in HOSTILE_KINDS]
    lines = ["| platform | call | " + " | ".join(kinds) + " |", "|---|---|" + "---|" * len(kinds)]
    for platform, calls in table.items():
        for call, outcomes in calls.items():
            if call.endswith("random"):
                row = "; ".join(f"{shape} runs: {outcome}" for shape, outcome in outcomes.items())
                lines.append(f"| {platform} | {call} | {row} |" + " |" * (len(kinds) - 1))
            else:
                lines.append(f"| {platform} | {call} | " + " | ".join(outcomes[k] for k in kinds) + " |")
    return "\n".join(lines)


def test_outputs_that_cannot_be_read_end_the_run_failed_saying_where_they_are(stack):
    """Foundry `GET .../messages` refusing (403) or failing (500) for good: the remote run succeeded, the run
    is not Success without its `response`; it ends Failed OutputsUnavailable naming the job and its link."""
    server = stack.simulation.servers["foundry_agents"]
    for index, kind in enumerate((FaultKind.STRAY_403, FaultKind.SERVER_ERROR, FaultKind.GATEWAY_200)):
        server.faults.script(Fault(kind, "listMessages", times=1000))
        run_id = f"outputs-unreadable-{index}"
        assert stack.post_run(request_for("agent-echo", run_id)).status_code == 202
        run = stack.wait_run(run_id, timeout=60)
        server.faults.clear()
        assert (run["status"], run["error"]["code"], run["remoteStatus"]) == ("Failed", "OutputsUnavailable",
                                                                               "completed")
        message = run["error"]["message"]
        assert "succeeded" in message and run["remoteRunId"] in message and run["monitorUrl"] in message
        assert "response" not in run["outputs"]
