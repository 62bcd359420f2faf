"""The seeded Azure ML workspace: three template pipeline jobs and how their clones behave.

DESIGN.md "Simulator catalog": `train-pipeline` (clone: Queued ~2 min, Running ~20 min, Completed
with outputs `model_uri` and `accuracy`), `failing-pipeline` (Running ~5 min, then Failed with a step
error), `long-pipeline` (Running 6 h, then Completed). Template bodies follow the realistic GET body of
azureml-jobs.md §2.8: steps in `jobs` use snake_case `job_input_type` and may carry a numeric literal
(§2.2), top-level inputs use `jobInputType: "literal"` with string values (§2.1).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from simulators.lifecycle import Timeline

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "sim-rg"
WORKSPACE = "sim-ws"
REGION = "simregion"  # not a real region: a client that ignores historyEndpoint fails fast
TENANT = "00000000-0000-0000-0000-00000000a11d"
WORKSPACE_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
    f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
)
COMPUTE_ID = f"{WORKSPACE_ID}/computes/cpu-cluster"
TEMPLATE_TAG = "sim.template"
"""A tag whose value names the template a job behaves like (the explicit form of the clone rule)."""


@dataclass(frozen=True)
class Behaviour:
    """How a job runs: its status timeline; when it ends Failed, its own RunHistory error message and the
    step (child job) that failed with `step_error` (children.py runs the steps inside the Running phase)."""

    timeline: Timeline
    error: str | None = None
    failing_step: str | None = None
    step_error: str | None = None


TRAIN = Behaviour(
    Timeline(
        (("NotStarted", 10), ("Starting", 10), ("Queued", 120), ("Running", 1200), ("Finalizing", 20)),
        "Completed",
    )
)
FAILING = Behaviour(
    Timeline((("NotStarted", 10), ("Queued", 20), ("Running", 300)), "Failed"),
    # the seeds: a pipeline "fails with an empty message" (Azure ML hides the error in a child job)
    error="",
    failing_step="train",
    step_error=(
        "Execution failed. User process 'python' exited with status code 1. "
        "ValueError: loss became NaN at epoch 3 (learning rate too high?)."
    ),
)
LONG = Behaviour(
    Timeline(
        (("NotStarted", 10), ("Starting", 10), ("Preparing", 60), ("Running", 6 * 3600), ("Finalizing", 20)),
        "Completed",
    )
)
DEFAULT_BEHAVIOUR = TRAIN
"""A job that is no clone of a template runs like a train-pipeline clone."""


@dataclass(frozen=True)
class Template:
    """A seeded template job: its PipelineJob properties, its clones' behaviour, and how long ago it ran."""

    name: str
    properties: Mapping[str, Any]
    behaviour: Behaviour
    age: timedelta

    def fresh_properties(self) -> dict[str, Any]:
        """A private deep copy of the template's properties."""
        return copy.deepcopy(dict(self.properties))


def _literal(value: str) -> dict[str, Any]:
    return {"description": None, "jobInputType": "literal", "value": value}


def _output(kind: str, mode: str) -> dict[str, Any]:
    return {"description": None, "jobOutputType": kind, "mode": mode, "uri": None}


def _component(name: str) -> str:
    return f"azureml:{WORKSPACE_ID}/components/{name}/versions/1"


def _step(name: str, component: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "type": "command",
        "display_name": name,
        "componentId": _component(component),
        "computeId": None,
        "tags": {},
        "properties": {},
        "_source": "REMOTE.WORKSPACE.COMPONENT",
        "inputs": inputs,
        "outputs": outputs,
    }


def _bind(name: str) -> dict[str, Any]:
    # azureml-jobs.md §2.2: step inputs are snake_case and bind to the pipeline's inputs
    return {"job_input_type": "literal", "value": f"${{{{parent.inputs.{name}}}}}"}


def _bind_out(name: str, kind: str) -> dict[str, Any]:
    return {"job_output_type": kind, "value": f"${{{{parent.outputs.{name}}}}}"}


def _pipeline(
    name: str, description: str, inputs: dict[str, Any], outputs: dict[str, Any], jobs: dict[str, Any]
) -> dict[str, Any]:
    return {
        "jobType": "Pipeline",
        "displayName": name,
        "experimentName": "sim-training",
        "description": description,
        "tags": {"owner": "sim"},
        "properties": {},
        "isArchived": False,
        "identity": None,
        "componentId": None,
        "computeId": COMPUTE_ID,
        "notificationSetting": None,
        "inputs": inputs,
        "outputs": outputs,
        "jobs": jobs,
        "settings": {"default_compute": COMPUTE_ID, "continue_on_step_failure": False, "_source": "YAML.JOB"},
        "sourceJobId": None,
    }


TEMPLATES: dict[str, Template] = {
    "train-pipeline": Template(
        "train-pipeline",
        _pipeline(
            "train-pipeline",
            "Trains and evaluates a model. Clones queue ~2 min, run ~20 min, then complete.",
            {"learning_rate": _literal("0.01"), "epochs": _literal("10")},
            {"model_uri": _output("uri_folder", "ReadWriteMount"), "accuracy": _output("uri_file", "Upload")},
            {
                "train": _step(
                    "train",
                    "train_model",
                    {
                        "lr": _bind("learning_rate"),
                        "epochs": _bind("epochs"),
                        "seed": {"job_input_type": "literal", "value": 3},
                    },
                    {"model_output": _bind_out("model_uri", "uri_folder")},
                ),
                "evaluate": _step(
                    "evaluate",
                    "evaluate_model",
                    {
                        "model": {
                            "job_input_type": "literal",
                            "value": "${{parent.jobs.train.outputs.model_output}}",
                        }
                    },
                    {"score": _bind_out("accuracy", "uri_file")},
                ),
            },
        ),
        TRAIN,
        timedelta(days=3),
    ),
    "failing-pipeline": Template(
        "failing-pipeline",
        _pipeline(
            "failing-pipeline",
            "Always fails in its train step after ~5 min of running.",
            {"learning_rate": _literal("10.0")},
            {"model_uri": _output("uri_folder", "ReadWriteMount")},
            {
                "prep": _step("prep", "prep_data", {}, {}),
                "train": _step(
                    "train",
                    "train_model",
                    {"lr": _bind("learning_rate"), "seed": {"job_input_type": "literal", "value": 7}},
                    {"model_output": _bind_out("model_uri", "uri_folder")},
                ),
            },
        ),
        FAILING,
        timedelta(days=2),
    ),
    "long-pipeline": Template(
        "long-pipeline",
        _pipeline(
            "long-pipeline",
            "Runs for six hours, then completes.",
            {"epochs": _literal("500")},
            {"model_uri": _output("uri_folder", "ReadWriteMount")},
            {
                "train_long": _step(
                    "train_long",
                    "train_model",
                    {"epochs": _bind("epochs")},
                    {"model_output": _bind_out("model_uri", "uri_folder")},
                ),
            },
        ),
        LONG,
        timedelta(days=1),
    ),
}


def identify(properties: Mapping[str, Any]) -> str | None:
    """Which template a PUT body was cloned from; None when it is no clone. First rule that matches wins:

    1. tag `sim.template` whose value names a template (explicit);
    2. `sourceJobId` ending in `/jobs/<template>` (azureml-jobs.md §2: "ARM resource ID of source job");
    3. `jobs` equal to a template's `jobs`: a client clones by copying `jobs` verbatim (§2.2, §6);
    4. `displayName` equal to a template's name.
    """
    tags = properties.get("tags")
    if isinstance(tags, Mapping) and tags.get(TEMPLATE_TAG) in TEMPLATES:
        return tags[TEMPLATE_TAG]
    source = properties.get("sourceJobId")
    if isinstance(source, str) and "/jobs/" in source:
        name = source.rstrip("/").rsplit("/jobs/", 1)[1]
        if name in TEMPLATES:
            return name
    jobs = properties.get("jobs")
    for name, template in TEMPLATES.items():
        if jobs is not None and jobs == template.properties["jobs"]:
            return name
    display = properties.get("displayName")
    return display if display in TEMPLATES else None
