"""A run request, checked field by field before anything starts.

`parse_run_request` turns an HTTP body or queue message into a `RunRequest`, or raises one
`ValidationError` naming the first wrong field and why. It is strict on purpose: unknown fields are
refused (a typo in `startTimeout` must not silently become the default), and so is anything that looks
like an endpoint or a credential, because a request only ever names a configured connection.

Decisions the design left open:
- `parameters` is optional; each entry needs `name` and `direction`; `value` is optional (absent or null
  means "not sent": the job's own default applies).
- A value may be a JSON string, number or boolean; numbers and booleans become their JSON text
  (`parameters.render_value`). Arrays and objects are refused: encode them as a JSON string.
- An Output parameter that carries a value is accepted and the value dropped: schedulers often send a
  parameter's last value back, and an output is written by the job, never read from the request.
- Optional fields (`parameters`, `runId`, `timeout`, `startTimeout`) may be null, meaning absent.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from core.connections import CONNECTION_NAME, CONNECTION_TYPE_FOR_JOB_TYPE, JOB_TYPES, Connection
from core.durations import START_TIMEOUT, TIMEOUT, DurationBounds, format_duration
from core.errors import ValidationError
from core.parameters import Direction, Parameter, render_value

# runId is the Durable instance id, part of status URLs and of the remote job's name. Durable forbids
# / \ # ? and a leading @ (reference/durable-functions.md 4); Azure ML job names allow letters, digits,
# '-' and '_' starting with a letter or digit (reference/azureml-jobs.md 1.3). 64 leaves room for a prefix.
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# The remote job's identifier (template job name, agent id, pipeline id); it goes into URL paths.
JOB = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,255}")
# Parameter names become input keys (Azure ML: identifiers with dots for groups; Abacus: Python names).
PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
MAX_PARAMETERS = 100
MAX_VALUE_BYTES = 32 * 1024
# All values together: the request rides in the orchestrator's input, replayed on every episode.
MAX_TOTAL_VALUE_BYTES = 256 * 1024

_FIELDS = ("jobType", "connection", "job", "parameters", "runId", "timeout", "startTimeout")
_PARAMETER_FIELDS = ("name", "direction", "value")
_CREDENTIAL_LIKE = re.compile(
    r"endpoint|url|uri|host|key|token|secret|password|passwd|pwd|credential|auth|bearer|connectionstring",
    re.IGNORECASE,
)
_PLAIN_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# C0/C1 controls other than tab, LF and CR, and lone surrogates (they cannot be encoded to send).
_BAD_VALUE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

KnownConnections = Mapping[str, str] | Mapping[str, Connection] | Callable[[str], "str | None"]


@dataclass(frozen=True)
class RunRequest:
    """A checked run request; `run_id` None means the starter picks one."""

    job_type: str
    connection: str
    job: str
    parameters: tuple[Parameter, ...] = ()
    run_id: str | None = None
    timeout: timedelta = TIMEOUT.default
    start_timeout: timedelta = START_TIMEOUT.default
    # When the run was created (its orchestration's clock). Not part of the request's wire form nor of its
    # equality: the submit activity sets it, so a client whose submit is not idempotent (Abacus runPipeline)
    # knows how far back its own remote job can be.
    created_at: datetime | None = field(default=None, compare=False)
    # Input parameters whose values an earlier chain step gives when this one starts. Not on the wire nor
    # part of equality: a check made before the chain starts counts them as given (their values, and
    # whether those fit, are checked when the step starts; their types by core.chains.binding_problem).
    given_later: frozenset[str] = field(default=frozenset(), compare=False)

    def to_dict(self) -> dict[str, object]:
        """The wire form (camelCase, ISO durations); `parse_run_request` reads it back to an equal request."""
        body: dict[str, object] = {
            "jobType": self.job_type,
            "connection": self.connection,
            "job": self.job,
            "parameters": [p.to_dict() for p in self.parameters],
            "timeout": format_duration(self.timeout),
            "startTimeout": format_duration(self.start_timeout),
        }
        if self.run_id is not None:
            body["runId"] = self.run_id
        return body

    @classmethod
    def from_dict(cls, body: object) -> RunRequest:
        """Read back a request that was checked before (an orchestrator's input); no settings needed."""
        return _parse(body, JOB_TYPES, None)

    def with_run_id(self, run_id: str) -> RunRequest:
        """This request with the run id the starter chose."""
        return replace(self, run_id=_run_id(run_id))

    def with_given_later(self, names: Collection[str]) -> RunRequest:
        """This request with `names` counted as given by an earlier chain step (see `given_later`)."""
        return replace(self, given_later=frozenset(names))

    def with_created_at(self, created_at: datetime | str | None) -> RunRequest:
        """This request with the run's creation time: a datetime or ISO text, naive meaning UTC (Durable's
        current_utc_datetime may be naive); None or unreadable text leaves it unknown."""
        if isinstance(created_at, str):
            try:
                created_at = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
            except ValueError:
                created_at = None
        if created_at is not None and created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=timezone.utc)
        return replace(self, created_at=created_at)


def parse_run_request(
    body: object, *, known_job_types: Collection[str], known_connections: KnownConnections
) -> RunRequest:
    """Check a request body; raise ValidationError naming the first wrong field and why.

    `known_job_types` are the job types this app runs. `known_connections` gives each connection's type
    (`azure_ml`...): a mapping name → type or name → Connection (`load_connections`), looked up exactly,
    then ignoring case; or a function name → type, None when unknown. The returned request names the
    connection as configured.
    """

    def resolve(name: str) -> tuple[str, str]:
        found = _lookup(known_connections, name)
        if found is None:
            raise ValidationError("connection", "is not a configured connection")
        return found

    return _parse(body, known_job_types, resolve)


def derive_run_id(seed: str) -> str:
    """A run id that is the same for the same seed (e.g. a queue message id), so a redelivery dedups."""
    if not isinstance(seed, str) or not seed:
        raise ValueError("a run id seed must be a non-empty string")
    return hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _lookup(known: KnownConnections, name: str) -> tuple[str, str] | None:
    """(name as configured, type) of the connection called `name`, or None."""
    if not isinstance(known, Mapping):
        kind = known(name)
        return None if kind is None else (name, str(kind))
    if name not in known:
        folded = [key for key in known if key.casefold() == name.casefold()]
        if len(folded) != 1:
            return None
        name = folded[0]
    value = known[name]
    return name, value.type.value if isinstance(value, Connection) else str(value)


def _parse(body: object, job_types: Collection[str], resolve: Callable[[str], tuple[str, str]] | None) -> RunRequest:
    if not isinstance(body, Mapping):
        raise ValidationError("$", "must be a JSON object")
    _refuse_unknown(body, _FIELDS, "")
    runnable = sorted(set(job_types) & set(CONNECTION_TYPE_FOR_JOB_TYPE))
    job_type = _string(body, "jobType", max_length=64)
    if job_type not in runnable:
        raise ValidationError("jobType", f"is not a known job type; expected one of {', '.join(runnable)}")
    connection = _string(
        body,
        "connection",
        max_length=64,
        pattern=CONNECTION_NAME,
        rule="letters, digits, '.', '_' and '-', starting with a letter or digit",
    )
    if resolve is not None:
        connection, kind = resolve(connection)
        wanted = CONNECTION_TYPE_FOR_JOB_TYPE[job_type].value
        if kind != wanted:
            raise ValidationError("connection", f"has type {kind}, but {job_type} needs a connection of type {wanted}")
    job = _string(
        body,
        "job",
        max_length=256,
        pattern=JOB,
        rule="letters, digits, '.', '_' and '-', starting with a letter or digit",
    )
    run_id = body.get("runId")
    return RunRequest(
        job_type=job_type,
        connection=connection,
        job=job,
        parameters=_parameters(body.get("parameters")),
        run_id=None if run_id is None else _run_id(run_id),
        timeout=_duration(body, "timeout", TIMEOUT),
        start_timeout=_duration(body, "startTimeout", START_TIMEOUT),
    )


def _refuse_unknown(body: Mapping, allowed: tuple[str, ...], path: str) -> None:
    for key in body:
        if key in allowed:
            continue
        plain = isinstance(key, str) and _PLAIN_FIELD.fullmatch(key)
        field = f"{path}.{key}".lstrip(".") if plain else (path or "$")
        if not plain:
            raise ValidationError(field, "has a field whose name is not a plain identifier")
        if _CREDENTIAL_LIKE.search(key):
            raise ValidationError(
                field,
                "a request never carries an endpoint or credential; name a configured connection instead",
            )
        raise ValidationError(field, f"is not a known field; expected {', '.join(allowed)}")


def _string(
    body: Mapping,
    key: str,
    path: str = "",
    *,
    max_length: int,
    pattern: re.Pattern[str] | None = None,
    rule: str = "",
) -> str:
    field = f"{path}.{key}" if path else key
    if key not in body or body[key] is None:
        raise ValidationError(field, "is required")
    value = body[key]
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {_json_type(value)}")
    if not value:
        raise ValidationError(field, "must not be empty")
    if len(value) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise ValidationError(field, f"may contain only {rule}")
    return value


def _run_id(value: object) -> str:
    return _string(
        {"runId": value},
        "runId",
        max_length=64,
        pattern=RUN_ID,
        rule="letters, digits, '_' and '-', starting with a letter or digit",
    )


def _duration(body: Mapping, key: str, bounds: DurationBounds) -> timedelta:
    value = body.get(key)
    if value is None:
        return bounds.default
    if not isinstance(value, str):
        raise ValidationError(key, f"must be an ISO 8601 duration string such as PT6H, not {_json_type(value)}")
    try:
        return bounds.parse(value)
    except ValueError as error:
        raise ValidationError(key, str(error)) from None


def _parameters(raw: object) -> tuple[Parameter, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValidationError("parameters", f"must be an array, not {_json_type(raw)}")
    if len(raw) > MAX_PARAMETERS:
        raise ValidationError("parameters", f"must have at most {MAX_PARAMETERS} entries")
    parameters: list[Parameter] = []
    seen: dict[str, int] = {}
    total = 0
    for index, entry in enumerate(raw):
        path = f"parameters[{index}]"
        if not isinstance(entry, Mapping):
            raise ValidationError(path, f"must be an object, not {_json_type(entry)}")
        _refuse_unknown(entry, _PARAMETER_FIELDS, path)
        name = _string(
            entry,
            "name",
            path,
            max_length=128,
            pattern=PARAMETER_NAME,
            rule="letters, digits, '_', '.' and '-', starting with a letter or '_'",
        )
        if name.casefold() in seen:
            raise ValidationError(
                f"{path}.name",
                f"repeats parameters[{seen[name.casefold()]}].name (names are compared ignoring case)",
            )
        seen[name.casefold()] = index
        text = _string(entry, "direction", path, max_length=32)
        try:
            direction = Direction.parse(text)
        except ValueError as error:
            raise ValidationError(f"{path}.direction", str(error)) from None
        value = _value(entry.get("value"), f"{path}.value") if direction.sends else None
        total += 0 if value is None else len(value.encode("utf-8"))
        if total > MAX_TOTAL_VALUE_BYTES:
            raise ValidationError("parameters", f"values must total at most {MAX_TOTAL_VALUE_BYTES} bytes")
        parameters.append(Parameter(name, direction, value))
    return tuple(parameters)


def _value(raw: object, field: str) -> str | None:
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValidationError(field, "must be a finite number")
    if not isinstance(raw, (str, int, float, type(None))):
        raise ValidationError(
            field, f"must be a string, number, boolean or null, not {_json_type(raw)} (send JSON as a string)"
        )
    try:
        text = render_value(raw)
    except ValueError:  # an integer too long to render (Python caps int-to-str at 4300 digits)
        raise ValidationError(field, f"must be at most {MAX_VALUE_BYTES} bytes (UTF-8)") from None
    if text is None:
        return None
    if _BAD_VALUE_CHARS.search(text):
        raise ValidationError(field, "contains a control character or an unpaired surrogate")
    if len(text.encode("utf-8")) > MAX_VALUE_BYTES:
        raise ValidationError(field, f"must be at most {MAX_VALUE_BYTES} bytes (UTF-8)")
    return text


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else "a non-JSON value"
