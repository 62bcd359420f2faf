"""Fault injection for the simulators: by rate (seeded) and by script (a queue matched by operation).

A fault is data (`Fault`); `FaultInjector.pick(operation)` decides, per request, which fault (if any)
applies. Scripted faults come first, in order, each matching one operation name (or any); when none
matches, a rate fault may be drawn from `random.Random(seed)`, so a run with the same seed and the
same request sequence injects the same faults. How a fault is applied to the wire (error body shape,
dropped socket, sleep) is the server's job; see `simulators.server`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class FaultKind(str, Enum):
    """What goes wrong. Values are the names used on `POST /_sim/faults` and `--fault-kinds`."""

    THROTTLE = "throttle"  # 429 with Retry-After, in the platform's error shape
    SERVER_ERROR = "server_error"  # 500
    UNAVAILABLE = "unavailable"  # 503 (with Retry-After when `retry_after` is set)
    SLOW = "slow"  # real sleep of `seconds`, then the operation runs and answers normally
    DROP = "drop"  # close the socket without a response; the operation does not run
    APPLY_THEN_TIMEOUT = (
        "apply_then_timeout"  # run the operation, hang `seconds`, then drop (or answer `status`)
    )
    # What gateways and proxies in front of real platforms send (issue 19), not shaped to our client:
    GATEWAY_502 = "gateway_502"  # an Application Gateway / Front Door HTML 502 page; the operation does not run
    GATEWAY_200 = "gateway_200"  # the operation runs, a proxy answers 200 with an HTML page instead of its answer
    CUT_BODY = "cut_body"  # the operation runs, its answer stops halfway and the connection closes
    RESET = "reset"  # the operation runs, the connection is reset (RST) halfway through the answer
    STRAY_403 = "stray_403"  # a 403 in the platform's shape during a deployment; the operation does not run
    STRAY_404 = "stray_404"  # a 404 in the platform's shape from a replica that lags; the operation does not run
    ABSURD_RETRY_AFTER = "absurd_retry_after"  # 429 with Retry-After 99999999999, 1e13 or a date in 9999, in turn
    NON_JSON_200 = "non_json_200"  # the operation runs, the answer is 200 with an empty body typed as JSON


_ALIASES = {"429": FaultKind.THROTTLE, "500": FaultKind.SERVER_ERROR, "503": FaultKind.UNAVAILABLE}

DEFAULT_RATE_KINDS: tuple[FaultKind, ...] = (
    FaultKind.THROTTLE,
    FaultKind.SERVER_ERROR,
    FaultKind.UNAVAILABLE,
    FaultKind.DROP,
)
"""Kinds drawn by rate unless told otherwise: quick ones, none that performs the operation."""

HOSTILE_KINDS: tuple[FaultKind, ...] = (
    FaultKind.GATEWAY_200,
    FaultKind.GATEWAY_502,
    FaultKind.CUT_BODY,
    FaultKind.RESET,
    FaultKind.STRAY_403,
    FaultKind.STRAY_404,
    FaultKind.ABSURD_RETRY_AFTER,
    FaultKind.NON_JSON_200,
)
"""What a hostile gateway or platform sends (tests/reliability/test_hostile.py injects each)."""


def parse_kind(value: str | FaultKind) -> FaultKind:
    """A `FaultKind` from its name or an alias (`429`, `500`, `503`); ValueError otherwise."""
    if isinstance(value, FaultKind):
        return value
    text = str(value).strip().lower()
    if text in _ALIASES:
        return _ALIASES[text]
    try:
        return FaultKind(text)
    except ValueError:
        names = ", ".join(kind.value for kind in FaultKind)
        raise ValueError(f"unknown fault kind {value!r}: use one of {names}") from None


@dataclass(frozen=True)
class Fault:
    """One fault to inject.

    `operation` limits it to one operation name (None: any). `times` is how many matching requests
    it hits. `retry_after` (seconds) goes in the Retry-After header of a throttle (always) or an
    unavailable fault (when set). `seconds` is the real delay of `slow` and the hang of
    `apply_then_timeout`. `status`, for `apply_then_timeout` only, answers that status (e.g. 504,
    in the platform's error shape) after the hang instead of dropping the connection. `skip` lets that
    many matching requests through untouched first (the fault then hits, say, the fifth poll).
    """

    kind: FaultKind
    operation: str | None = None
    times: int = 1
    retry_after: int | None = None
    seconds: float = 1.0
    status: int | None = None
    skip: int = 0

    def __post_init__(self) -> None:
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.skip < 0:
            raise ValueError("skip must not be negative")
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retryAfter must not be negative")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from the JSON of `POST /_sim/faults` (camelCase keys); ValueError if malformed."""
        if not isinstance(data, Mapping) or "kind" not in data:
            raise ValueError("a fault is an object with at least 'kind'")
        unknown = set(data) - {"kind", "operation", "times", "retryAfter", "seconds", "status", "skip"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        try:
            return cls(
                kind=parse_kind(data["kind"]),
                operation=data.get("operation"),
                times=int(data.get("times", 1)),
                retry_after=None if data.get("retryAfter") is None else int(data["retryAfter"]),
                seconds=float(data.get("seconds", 1.0)),
                status=None if data.get("status") is None else int(data["status"]),
                skip=int(data.get("skip", 0)),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad fault {dict(data)!r}: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        """The camelCase JSON form, as `GET /_sim/faults` lists it."""
        return {
            "kind": self.kind.value,
            "operation": self.operation,
            "times": self.times,
            "retryAfter": self.retry_after,
            "seconds": self.seconds,
            "status": self.status,
            "skip": self.skip,
        }


class FaultInjector:
    """Decides which fault, if any, hits each request. Thread-safe.

    `rate` is the chance (0..1) that a request with no scripted fault gets a random one of `kinds`;
    rate faults use `retry_after` and `seconds` as their parameters.
    """

    def __init__(
        self,
        rate: float = 0.0,
        seed: int = 0,
        kinds: Iterable[FaultKind | str] = DEFAULT_RATE_KINDS,
        retry_after: int = 1,
        seconds: float = 1.0,
    ) -> None:
        self._lock = threading.Lock()
        self._script: list[list[Any]] = []  # [fault, hits left, matches still to let through]
        self.retry_after = retry_after
        self.seconds = seconds
        self.configure(rate=rate, seed=seed, kinds=kinds)

    def configure(
        self,
        rate: float | None = None,
        seed: int | None = None,
        kinds: Iterable[FaultKind | str] | None = None,
    ) -> None:
        """Change the rate, reseed, or change the kinds drawn by rate (each only when given)."""
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        parsed = None if kinds is None else tuple(parse_kind(kind) for kind in kinds)
        if parsed == ():
            raise ValueError("at least one fault kind is needed")
        with self._lock:
            if rate is not None:
                self.rate = float(rate)
            if seed is not None:
                self.seed = int(seed)
                self._rng = random.Random(self.seed)
            if parsed is not None:
                self.kinds = parsed

    def script(self, *faults: Fault) -> None:
        """Queue faults for the next matching requests, after those already queued."""
        with self._lock:
            self._script.extend([fault, fault.times, fault.skip] for fault in faults)

    def clear(self) -> None:
        """Drop every scripted fault (the rate stays)."""
        with self._lock:
            self._script.clear()

    def reset(self) -> None:
        """Drop scripted faults and restart the random sequence from the seed."""
        with self._lock:
            self._script.clear()
            self._rng = random.Random(self.seed)

    def pending(self) -> list[Fault]:
        """Scripted faults not yet used up, each with its remaining `times`."""
        with self._lock:
            return [_with_times(fault, left, skip) for fault, left, skip in self._script]

    def pick(self, operation: str) -> Fault | None:
        """The fault for one `operation` request: the first matching scripted one, else maybe a rate one."""
        with self._lock:
            for entry in self._script:
                fault = entry[0]
                if fault.operation in (None, operation):
                    if entry[2] > 0:  # let this one through, count it
                        entry[2] -= 1
                        return None
                    entry[1] -= 1
                    if entry[1] == 0:
                        self._script.remove(entry)
                    return fault
            if self.rate and self._rng.random() < self.rate:
                kind = self._rng.choice(self.kinds)
                return Fault(kind, operation, retry_after=self.retry_after, seconds=self.seconds)
            return None


def _with_times(fault: Fault, times: int, skip: int = 0) -> Fault:
    return Fault(fault.kind, fault.operation, times, fault.retry_after, fault.seconds, fault.status, skip)
