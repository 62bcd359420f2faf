"""The seeded Abacus organisation: one project and two pipelines, and how their steps behave.

DESIGN.md "Simulator catalog": `simtrain01` (variables learning_rate FLOAT, epochs INTEGER, dataset_id
DATASET_ID optional; versions PENDING -> RUNNING ~15 min -> COMPLETE, output variable `model_id`) and
`simfail01` (FAILED at its second step with a step error). A step is described by how long it runs and
how it ends; the real API cannot express that, so pipelines made through createPipeline/createPipelineStep
get `DEFAULT_STEP_SECONDS` successful steps, and `POST /_sim/pipelines` (`spec_from_json`) adds pipelines
with any behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from simulators.abacus.variables import OUTPUT_TYPES, VariableError, declare, normalise_type

PROJECT_ID = "simproject01"
ORGANIZATION = "sim-org"
CREATED_BY = "sim-admin@example.com"
DEFAULT_STEP_SECONDS = 60.0
DEFAULT_PENDING_SECONDS = 60.0
CPU_SIZES = ("small", "medium", "large")  # §5 CPUSize
MEMORY_SIZES = (16, 32, 64, 128)  # §5 MemorySize, GB
DEFAULT_TIMEOUT_MINUTES = 300  # §2 createPipelineStep: timeout in minutes, default 300


@dataclass(frozen=True)
class Output:
    """A declared step output (OutputVariableMapping, §4); `value` is what a COMPLETE step produces
    (None: one is made up from the type, e.g. a fresh model id for MODEL_ID)."""

    name: str
    variable_type: str
    value: Any = None
    description: str | None = None


@dataclass(frozen=True)
class StepSpec:
    """One step: its function, its inputs (bound to pipeline variables), its outputs, and how it behaves.

    `seconds` is how long it runs once its dependencies are done. With `error` it ends FAILED with that
    message (and `output_errors`); when `seconds` exceeds `timeout` minutes it fails at the timeout.
    """

    name: str
    seconds: float = DEFAULT_STEP_SECONDS
    depends_on: tuple[str, ...] = ()
    inputs: tuple[Mapping[str, Any], ...] = ()
    outputs: tuple[Output, ...] = ()
    error: str | None = None
    output_errors: str | None = None
    function_name: str | None = None
    source_code: str | None = None
    package_requirements: tuple[str, ...] = ()
    cpu_size: str = "small"
    memory: int = 16
    timeout: int = DEFAULT_TIMEOUT_MINUTES

    def outcome(self) -> tuple[float, bool, str | None]:
        """(seconds it runs, whether it fails, its error)."""
        limit = self.timeout * 60
        if self.seconds > limit:
            return limit, True, f"Pipeline step {self.name} exceeded its timeout of {self.timeout} minutes"
        return self.seconds, self.error is not None, self.error


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline as seeded or scripted: declared variables, steps in dependency order, how long a new
    version stays PENDING, and how many finished versions it already has (`history`, run a day ago)."""

    pipeline_id: str
    name: str
    variables: tuple[Mapping[str, Any], ...] = ()
    steps: tuple[StepSpec, ...] = ()
    pending_seconds: float = DEFAULT_PENDING_SECONDS
    project_id: str | None = PROJECT_ID
    cron: str | None = None
    is_prod: bool = False
    age: timedelta = timedelta(days=7)
    history: int = 0
    description: str = field(default="", compare=False)


def _bind(*names: str, types: Mapping[str, str], optional: tuple[str, ...] = ()) -> tuple[dict[str, Any], ...]:
    """Step inputs that take the pipeline variables of the same names (§4: `pipelineVariable`)."""
    return tuple(
        {"name": name, "variableType": types[name], "pipelineVariable": name, "isRequired": name not in optional}
        for name in names
    )


_TRAIN_TYPES = {"learning_rate": "FLOAT", "epochs": "INTEGER", "dataset_id": "DATASET_ID"}

SIMTRAIN = PipelineSpec(
    "simtrain01",
    "sim_train",
    variables=(
        {
            "name": "learning_rate",
            "variableType": "FLOAT",
            "value": 0.01,
            "isRequired": True,
            "description": "Optimizer learning rate.",
        },
        {
            "name": "epochs",
            "variableType": "INTEGER",
            "value": 10,
            "isRequired": True,
            "description": "Training epochs.",
        },
        {
            "name": "dataset_id",
            "variableType": "DATASET_ID",
            "value": None,
            "isRequired": False,
            "description": "Training data; the pipeline's default dataset when unset.",
        },
    ),
    steps=(
        StepSpec("prepare_data", 120, inputs=_bind("dataset_id", types=_TRAIN_TYPES, optional=("dataset_id",))),
        StepSpec(
            "train_model",
            600,
            depends_on=("prepare_data",),
            inputs=_bind("learning_rate", "epochs", types=_TRAIN_TYPES),
            outputs=(Output("model_id", "MODEL_ID", description="The trained model."),),
            cpu_size="large",
            memory=64,
        ),
        StepSpec("evaluate_model", 180, depends_on=("train_model",)),
    ),
    pending_seconds=60,
    history=1,
    description="PENDING 1 min, RUNNING 15 min (prepare 2, train 10, evaluate 3), then COMPLETE with model_id.",
)

SIMFAIL = PipelineSpec(
    "simfail01",
    "sim_fail",
    variables=(
        {
            "name": "learning_rate",
            "variableType": "FLOAT",
            "value": 10.0,
            "isRequired": True,
            "description": "Far too high on purpose.",
        },
    ),
    steps=(
        StepSpec("load_data", 60),
        StepSpec(
            "train_model",
            180,
            depends_on=("load_data",),
            inputs=_bind("learning_rate", types=_TRAIN_TYPES),
            outputs=(Output("model_id", "MODEL_ID"),),
            error=(
                'Traceback (most recent call last):\n  File "train.py", line 42, in train_model\n'
                "ValueError: loss became NaN at epoch 3 (learning rate too high?)"
            ),
            output_errors="Output variable model_id was not set: the step function raised an exception.",
        ),
        StepSpec("evaluate_model", 60, depends_on=("train_model",)),
    ),
    pending_seconds=60,
    history=1,
    description="PENDING 1 min, load_data 1 min, then train_model FAILED after 3 min; evaluate_model never runs.",
)

SEEDED: tuple[PipelineSpec, ...] = (SIMTRAIN, SIMFAIL)
PROJECTS: tuple[str, ...] = (PROJECT_ID,)


def check_steps(steps: tuple[StepSpec, ...]) -> None:
    """Step names are unique and every dependency names an earlier step (so the order is a valid run
    order); ValueError otherwise."""
    seen: set[str] = set()
    for step in steps:
        if step.name in seen:
            raise ValueError(f"step {step.name!r} is defined twice")
        missing = [name for name in step.depends_on if name not in seen]
        if missing:
            raise ValueError(f"step {step.name!r} depends on {missing}, which are not earlier steps")
        seen.add(step.name)


def spec_from_json(data: Any) -> PipelineSpec:
    """A scripted pipeline from `POST /_sim/pipelines` (camelCase keys); ValueError when malformed.

    `{"pipelineId", "pipelineName", "projectId"?, "pendingSeconds"?, "pipelineVariableMappings"?: [...],
      "steps": [{"stepName", "seconds"?, "stepDependencies"?, "error"?, "outputErrors"?, "timeout"?,
                 "stepInputMappings"?: [...], "outputVariableMappings"?: [{"name", "variableType", "value"?}]}]}`
    """
    if not isinstance(data, Mapping):
        raise ValueError("a pipeline is an object")
    pipeline_id, name = data.get("pipelineId"), data.get("pipelineName")
    if not isinstance(pipeline_id, str) or not pipeline_id or not isinstance(name, str) or not name:
        raise ValueError("pipelineId and pipelineName are required strings")
    try:
        variables = tuple(declare(data.get("pipelineVariableMappings")))
        steps = tuple(_step_from_json(item) for item in data.get("steps") or [])
    except VariableError as exc:
        raise ValueError(exc.message) from None
    check_steps(steps)
    pending = float(data.get("pendingSeconds", DEFAULT_PENDING_SECONDS))
    if pending < 0:
        raise ValueError("pendingSeconds must not be negative")
    return PipelineSpec(
        pipeline_id,
        name,
        variables=variables,
        steps=steps,
        pending_seconds=pending,
        project_id=data.get("projectId", PROJECT_ID),
    )


def _step_from_json(item: Any) -> StepSpec:
    if not isinstance(item, Mapping) or not isinstance(item.get("stepName"), str):
        raise ValueError("each step is an object with a stepName")
    seconds = float(item.get("seconds", DEFAULT_STEP_SECONDS))
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    return StepSpec(
        item["stepName"],
        seconds,
        depends_on=tuple(item.get("stepDependencies") or ()),
        inputs=tuple(step_inputs(item.get("stepInputMappings"))),
        outputs=tuple(outputs_from_json(item.get("outputVariableMappings"))),
        error=item.get("error"),
        output_errors=item.get("outputErrors"),
        timeout=int(item.get("timeout") or DEFAULT_TIMEOUT_MINUTES),
    )


def step_inputs(mappings: Any) -> list[dict[str, Any]]:
    """A step's `stepInputMappings` (PythonFunctionArgument list); VariableError when malformed."""
    if mappings is None:
        return []
    if not isinstance(mappings, list) or not all(isinstance(item, Mapping) for item in mappings):
        raise VariableError("InvalidParameterError", "stepInputMappings must be a list of PythonFunctionArgument")
    inputs = []
    for item in mappings:
        if not isinstance(item.get("name"), str) or not item["name"]:
            raise VariableError("InvalidParameterError", "Each step input mapping needs a non-empty 'name'")
        inputs.append(
            {
                "name": item["name"],
                "variableType": normalise_type(item.get("variableType")),
                "pipelineVariable": item.get("pipelineVariable"),
                "value": item.get("value"),
                "isRequired": True if item.get("isRequired") is None else bool(item["isRequired"]),
            }
        )
    return inputs


def outputs_from_json(mappings: Any) -> list[Output]:
    """A step's `outputVariableMappings` (OutputVariableMapping list, §4); VariableError when malformed."""
    if mappings is None:
        return []
    if not isinstance(mappings, list) or not all(isinstance(item, Mapping) for item in mappings):
        raise VariableError("InvalidParameterError", "outputVariableMappings must be a list of OutputVariableMapping")
    outputs = []
    for item in mappings:
        if not isinstance(item.get("name"), str) or not item["name"]:
            raise VariableError("InvalidParameterError", "Each output variable mapping needs a non-empty 'name'")
        variable_type = normalise_type(item.get("variableType"), OUTPUT_TYPES)
        outputs.append(Output(item["name"], variable_type, item.get("value"), item.get("description")))
    return outputs
