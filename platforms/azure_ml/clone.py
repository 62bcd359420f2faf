"""Build the PUT body of a run from its template pipeline job (reference/azureml-jobs.md §6 and the
closing "What a client must strip or handle" list).

The template's `jobs` and `settings` are copied byte for byte (steps bind to the top-level inputs through
`${{parent.inputs.<name>}}`, §2.2); only the top-level `inputs` are rewritten, as literal inputs whose
value is a non-empty string (§2.1). Read-only and system-generated fields are dropped, and so is each
output's `uri`, which on a finished template points at the template's own output folder.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

JOB_NAME_PREFIX = "runbridge-"
RUN_ID_TAG = "runbridge.runId"
TEMPLATE_TAG = "runbridge.template"
# §2.1: LiteralJobInput.value has minLength 1 and the (unanchored) pattern [a-zA-Z0-9_].
LITERAL_VALUE = re.compile(r"[a-zA-Z0-9_]")
_READ_ONLY_PROPERTIES = ("status", "services")
_SYSTEM_PROPERTY_KEYS = {"runSource", "runType", "ContentSnapshotId"}
_SYSTEM_PROPERTY_PREFIXES = ("azureml.", "mlflow.source.")


def job_name(run_id: str) -> str:
    """The remote job's name, derived from the run id, so a retried or replayed submit finds its own job.

    Names allow letters, digits, '-' and '_' (§1.3); run ids are already restricted to those.
    """
    return JOB_NAME_PREFIX + run_id


def literal_problem(value: str) -> str | None:
    """Why a value cannot be a literal input (§2.1), or None."""
    if value == "":
        return "must not be empty: Azure ML literal inputs need at least one character"
    if not LITERAL_VALUE.search(value):
        return "must contain a letter, digit or underscore (Azure ML literal input pattern)"
    return None


def build_clone(template: Mapping[str, Any], template_name: str, run_id: str,
                inputs: Mapping[str, str]) -> dict[str, Any]:
    """The JobBaseResource body that re-runs `template` with `inputs` overlaid, tagged with the run."""
    source = template.get("properties") or {}
    props: dict[str, Any] = {}
    for key, value in source.items():
        if key in _READ_ONLY_PROPERTIES or value is None:
            continue
        if key in ("jobs", "settings"):
            props[key] = copy.deepcopy(value)  # verbatim (§2.2, §2.3)
        elif key == "properties":
            props[key] = {k: v for k, v in value.items()
                          if k not in _SYSTEM_PROPERTY_KEYS and not k.startswith(_SYSTEM_PROPERTY_PREFIXES)}
        elif key == "inputs":
            props[key] = {name: _strip_nulls(entry) for name, entry in value.items()}
        elif key == "outputs":
            props[key] = {name: {k: v for k, v in _strip_nulls(entry).items() if k != "uri"}
                          for name, entry in value.items()}
        else:
            props[key] = copy.deepcopy(value)
    props["jobType"] = source.get("jobType", "Pipeline")
    current_inputs = props.setdefault("inputs", {})
    for name, value in inputs.items():
        current_inputs[name] = {"jobInputType": "literal", "value": value}
    props["tags"] = {**(source.get("tags") or {}), RUN_ID_TAG: run_id, TEMPLATE_TAG: template_name}
    props["displayName"] = f"{source.get('displayName') or template_name} (runbridge {run_id})"
    props["isArchived"] = False
    return {"properties": props}


def _strip_nulls(entry: Any) -> Any:
    if isinstance(entry, Mapping):
        return {k: v for k, v in entry.items() if v is not None}
    return entry
