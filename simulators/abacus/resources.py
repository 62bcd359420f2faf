"""The JSON objects the pipeline methods return: Pipeline, PipelineStep, PipelineVersion,
PipelineStepVersion and the step logs (abacus-pipelines.md §2, §5 "Full object fields").

Every documented field is present (null when there is nothing to say), so a client that reads one finds it;
a few extras are added where the reference allows ("clients must ignore unknown ones", §1 Envelope).
Where the reference leaves a shape open ([U]):
- a step version's `outputVariableMappings` is a list of `{name, variableType, description, value}`;
  `value` is null until the step is COMPLETE (§5: "whether it contains produced values" is [U]);
- its `functionVariableMappings` are the step's inputs with the values this version passed in;
- an output of an id type also shows as a `pipelineStepVersionReferences` entry once COMPLETE.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simulators.abacus.versions import COMPLETE, FAILED, RUNNING, Pipeline, Step, StepVersion, Version, output_value
from simulators.abacus.wire import make_id, wire_time

_REFERENCE_KINDS = {  # id-typed outputs -> (objectType, the PipelineStepVersionReference field)
    "MODEL_ID": ("MODEL_VERSION", "modelVersion"),
    "DATASET_ID": ("DATASET_VERSION", "datasetVersion"),
    "DEPLOYMENT_ID": ("DEPLOYMENT_VERSION", "deploymentVersion"),
    "BATCH_PREDICTION_ID": ("BATCH_PREDICTION", "batchPredictionId"),
    "MONITOR_ID": ("MODEL_MONITOR_VERSION", "modelMonitorVersion"),
    "FEATURE_GROUP_ID": ("FEATURE_GROUP_VERSION", "featureGroupVersion"),
}
_REFERENCE_FIELDS = (
    "datasetVersion",
    "modelVersion",
    "deploymentVersion",
    "batchPredictionId",
    "modelMonitorVersion",
    "notebookVersion",
    "featureGroupVersion",
)


def code_source(step: Step) -> dict[str, Any]:
    """CodeSource (§5) of a step's function."""
    spec = step.spec
    source = spec.source_code or f"def {spec.function_name or spec.name}(**kwargs):\n    ...\n"
    return {
        "sourceType": "TEXT",
        "sourceCode": source,
        "applicationConnectorId": None,
        "applicationConnectorInfo": None,
        "packageRequirements": list(spec.package_requirements),
        "status": "COMPLETE",
        "error": None,
        "publishingMsg": None,
        "moduleDependencies": None,
    }


def _declared_outputs(step: Step) -> list[dict[str, Any]]:
    return [
        {"name": out.name, "variableType": out.variable_type, "description": out.description}
        for out in step.spec.outputs
    ]


def pipeline_step(step: Step, pipeline: Pipeline) -> dict[str, Any]:
    """PipelineStep: the definition of a step."""
    spec = step.spec
    return {
        "pipelineStepId": step.step_id,
        "pipelineId": pipeline.pipeline_id,
        "stepName": spec.name,
        "pipelineName": pipeline.name,
        "createdAt": wire_time(step.created_at),
        "updatedAt": wire_time(step.updated_at),
        "pythonFunctionId": step.function_id,
        "stepDependencies": list(spec.depends_on),
        "cpuSize": spec.cpu_size,
        "memory": spec.memory,
        "timeout": spec.timeout,
        "pythonFunction": {
            "pythonFunctionId": step.function_id,
            "name": f"{pipeline.name}.{spec.name}",
            "functionName": spec.function_name or spec.name,
            "functionType": "PLAIN_PYTHON",
            "functionVariableMappings": [dict(item) for item in spec.inputs],
            "outputVariableMappings": _declared_outputs(step),
            "codeSource": code_source(step),
        },
        "codeSource": code_source(step),
    }


def pipeline(pipeline: Pipeline, now: datetime) -> dict[str, Any]:
    """Pipeline (§5), with its newest version as `latestPipelineVersion` (null when it never ran)."""
    latest = pipeline.versions[-1] if pipeline.versions else None
    return {
        "pipelineName": pipeline.name,
        "pipelineId": pipeline.pipeline_id,
        "createdAt": wire_time(pipeline.created_at),
        "notebookId": None,
        "cron": pipeline.cron,
        "nextRunTime": None,  # the simulator never starts scheduled runs
        "isProd": pipeline.is_prod,
        "warning": None,
        "createdBy": pipeline.created_by,
        "steps": [pipeline_step(step, pipeline) for step in pipeline.steps],
        "pipelineReferences": [],
        "latestPipelineVersion": None if latest is None else pipeline_version(latest, now),
        "codeSource": None,
        "pipelineVariableMappings": [dict(item) for item in pipeline.variables],
    }


def _inputs(step_version: StepVersion, version: Version) -> list[dict[str, Any]]:
    inputs = []
    for item in step_version.step.spec.inputs:
        entry = dict(item)
        source = item.get("pipelineVariable")
        if source:
            entry["value"] = version.value_of(source)
        inputs.append(entry)
    return inputs


def _outputs(step_version: StepVersion, version: Version, done: bool) -> list[dict[str, Any]]:
    return [
        {
            "name": out.name,
            "variableType": out.variable_type,
            "description": out.description,
            "value": output_value(out, version.version_id) if done else None,
        }
        for out in step_version.step.spec.outputs
    ]


def _references(step_version: StepVersion, version: Version, done: bool) -> list[dict[str, Any]]:
    references = []
    if not done:
        return references
    for index, out in enumerate(step_version.step.spec.outputs):
        kind = _REFERENCE_KINDS.get(out.variable_type)
        if kind is None:
            continue
        object_type, key = kind
        reference: dict[str, Any] = {
            "pipelineStepVersionReferenceId": make_id(f"ref:{step_version.step_version_id}", index),
            "pipelineStepVersion": step_version.step_version_id,
            "objectType": object_type,
            **{name: None for name in _REFERENCE_FIELDS},
            "status": COMPLETE,
            "error": None,
        }
        reference[key] = make_id(f"objver:{version.version_id}:{out.name}", 0)
        references.append(reference)
    return references


def pipeline_step_version(step_version: StepVersion, version: Version, now: datetime) -> dict[str, Any]:
    """PipelineStepVersion (§5) at `now`."""
    spec = step_version.step.spec
    status = step_version.status(now)
    done = status == COMPLETE
    return {
        "stepName": spec.name,
        "pipelineStepVersion": step_version.step_version_id,
        "pipelineStepId": step_version.step.step_id,
        "pipelineId": version.pipeline.pipeline_id,
        "pipelineVersion": version.version_id,
        "createdAt": wire_time(step_version.base),
        "updatedAt": wire_time(step_version.updated_at(now)),
        "status": status,
        "error": step_version.error_at(now),
        "outputErrors": step_version.output_errors_at(now),
        "pythonFunctionId": step_version.step.function_id,
        "functionVariableMappings": _inputs(step_version, version),
        "stepDependencies": list(spec.depends_on),
        "outputVariableMappings": _outputs(step_version, version, done),
        "cpuSize": spec.cpu_size,
        "memory": spec.memory,
        "timeout": spec.timeout,
        "pipelineStepVersionReferences": _references(step_version, version, done),
        "codeSource": code_source(step_version.step),
    }


def pipeline_version(version: Version, now: datetime) -> dict[str, Any]:
    """PipelineVersion (§5) at `now`: the status, and every step version with its own status."""
    return {
        "pipelineName": version.pipeline.name,
        "pipelineId": version.pipeline.pipeline_id,
        "pipelineVersion": version.version_id,
        "createdAt": wire_time(version.created_at),
        "updatedAt": wire_time(version.updated_at(now)),
        "completedAt": wire_time(version.completed_at(now)),
        "status": version.status(now),
        "error": version.error(now),
        "stepVersions": [pipeline_step_version(step, version, now) for step in version.step_versions],
        "codeSource": None,
        "pipelineVariableMappings": [dict(item) for item in version.mappings],
    }


def step_logs(step_version: StepVersion, version: Version, now: datetime) -> dict[str, Any]:
    """One entry of listPipelineVersionLogs' `stepLogs`, and getStepVersionLogs' result (§2)."""
    return {
        "stepName": step_version.name,
        "pipelineStepId": step_version.step.step_id,
        "pipelineStepVersion": step_version.step_version_id,
        "logs": _log_text(step_version, version, now),
    }


def _log_text(step_version: StepVersion, version: Version, now: datetime) -> str:
    started = step_version.started_at()
    if started is None or started > now:
        return ""
    lines = [f"{wire_time(started)} Starting step {step_version.name} of pipeline version {version.version_id}"]
    for item in _inputs(step_version, version):
        lines.append(f"{wire_time(started)} input {item['name']} = {item.get('value')!r}")
    status = step_version.status(now)
    if status == RUNNING:
        lines.append(f"{wire_time(now)} running...")
    elif status == FAILED:
        lines.append(step_version.error or "")
        lines.append(f"{wire_time(step_version.ended_at)} Step {step_version.name} failed")
    elif status == COMPLETE:
        for out in _outputs(step_version, version, True):
            lines.append(f"{wire_time(step_version.ended_at)} output {out['name']} = {out['value']!r}")
        lines.append(f"{wire_time(step_version.ended_at)} Step {step_version.name} completed")
    return "\n".join(lines) + "\n"
