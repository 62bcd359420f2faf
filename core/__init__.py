"""The runbridge domain: statuses, parameters, run requests, connections and the poll policy.

Standard library only, no Azure Functions imports, no clock or settings reads: starters, orchestrators,
activities and platform clients build on it.
"""

from core.connections import (
    CONNECTION_TYPE_FOR_JOB_TYPE,
    JOB_TYPES,
    Connection,
    ConnectionSettingsError,
    ConnectionType,
    find_connection,
    load_connections,
    read_connections,
)
from core.durations import START_TIMEOUT, TIMEOUT, format_duration, parse_duration
from core.errors import ValidationError
from core.parameters import Direction, Parameter, apply_outputs, inputs_to_send, outputs_to_write
from core.poll_policy import (
    Cancel,
    ContinueAsNew,
    Decision,
    Finish,
    Observation,
    PollPolicy,
    PollState,
    StatusObservation,
    TransientError,
    Wait,
    next_poll,
    request_cancel,
)
from core.run_request import RunRequest, derive_run_id, parse_run_request
from core.status import ACTIVE, TERMINAL, ErrorCode, RunStatus, is_terminal, map_status

__all__ = [
    "ACTIVE",
    "CONNECTION_TYPE_FOR_JOB_TYPE",
    "JOB_TYPES",
    "START_TIMEOUT",
    "TERMINAL",
    "TIMEOUT",
    "Cancel",
    "Connection",
    "ConnectionSettingsError",
    "ConnectionType",
    "ContinueAsNew",
    "Decision",
    "Direction",
    "ErrorCode",
    "Finish",
    "Observation",
    "Parameter",
    "PollPolicy",
    "PollState",
    "RunRequest",
    "RunStatus",
    "StatusObservation",
    "TransientError",
    "ValidationError",
    "Wait",
    "apply_outputs",
    "derive_run_id",
    "find_connection",
    "format_duration",
    "inputs_to_send",
    "is_terminal",
    "load_connections",
    "map_status",
    "next_poll",
    "outputs_to_write",
    "parse_duration",
    "parse_run_request",
    "read_connections",
    "request_cancel",
]
