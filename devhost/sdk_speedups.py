"""Make the Durable SDK's replay cheaper inside devhost, with results identical to the SDK's own.

The 1.x SDK rebuilds every history event on every episode and parses each event's `Timestamp` with
dateutil's general-purpose parser (`HistoryEvent.__init__`): profiled, that parse is ~85% of a replay, and
the same strings are parsed again on every later episode of the instance. devhost memoizes it: the first
parse of a string is dateutil's own; later ones return that same (immutable) datetime. Nothing else in the
SDK changes, and the app never imports this module, so Azure runs the SDK untouched.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from functools import lru_cache
from typing import Any

# the module, not the class the package re-exports under the same name
history_event_module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")

_ORIGINAL = history_event_module.dt_parse
CACHE_SIZE = 1 << 17  # timestamps (~40 bytes each as keys): a few MiB at most


@lru_cache(maxsize=CACHE_SIZE)
def _parse_once(text: str) -> datetime:
    return _ORIGINAL(text)


def _memoized_parse(timestr: Any, *args: Any, **kwargs: Any) -> datetime:
    if args or kwargs or not isinstance(timestr, str):
        return _ORIGINAL(timestr, *args, **kwargs)
    return _parse_once(timestr)


def install() -> None:
    """Memoize the SDK's history timestamp parsing (idempotent)."""
    history_event_module.dt_parse = _memoized_parse


def uninstall() -> None:
    """Give the SDK back its own parser (benchmarks measure the SDK's own floor with it)."""
    history_event_module.dt_parse = _ORIGINAL


def installed() -> bool:
    return history_event_module.dt_parse is _memoized_parse
