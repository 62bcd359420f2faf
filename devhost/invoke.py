"""Call the app's functions the way the Python worker does: bindings in by name, sync or async.

Async functions (durable client functions are always async, durable-functions.md §2.1) run on one
long-lived event loop, because the SDK keeps one shared aiohttp session that breaks across loops (§4).
Sync functions run in the caller's thread (a pool thread for activities).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import uuid
from collections.abc import Coroutine
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from .app_loader import FunctionInfo


class HostStopped(RuntimeError):
    """The host stopped while a call waited on its event loop."""


class EventLoopThread:
    """One asyncio loop in a daemon thread, shared by every async invocation.

    `stop()` ends every call still waiting on the loop with `HostStopped`: a stopped loop never finishes
    what it was running, and a pool thread blocked on such a call would hold the interpreter's exit
    forever (a pool's threads are joined at exit).
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._lock = threading.Lock()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._stopped = False
        self._thread = threading.Thread(target=self.loop.run_forever, name="devhost-async", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run a coroutine on the loop and wait for its result in the calling thread."""
        with self._lock:
            if self._stopped:
                coro.close()
                raise HostStopped("the host has stopped")
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)
            self._pending.add(future)
        try:
            return future.result(timeout)
        except concurrent.futures.CancelledError:
            if self._stopped:
                raise HostStopped("the host stopped during the call") from None
            raise
        finally:
            with self._lock:
                self._pending.discard(future)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            pending, self._pending = self._pending, set()
        for future in pending:
            future.cancel()  # wakes its waiter now; the loop may never run the task's own cancellation
        self.loop.call_soon_threadsafe(self.loop.stop)


class InvocationContext(func.Context):
    """The `context` argument a function may declare."""

    def __init__(self, function: FunctionInfo, folder: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function = function
        self._folder = folder
        self._tls = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> threading.local:  # type: ignore[override]
        return self._tls

    @property
    def function_name(self) -> str:
        return self._function.name

    @property
    def function_directory(self) -> str:
        return self._folder

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


def call(function: FunctionInfo, kwargs: dict[str, Any], loop: EventLoopThread, folder: str) -> Any:
    """Invoke a function with its bindings; add `context` when the function asks for it."""
    target = function.callable
    params = _parameters(target)
    if "context" in params and "context" not in kwargs:
        kwargs["context"] = InvocationContext(function, folder)
    if inspect.iscoroutinefunction(target):
        return loop.run(target(**kwargs))
    result = target(**kwargs)
    if inspect.isawaitable(result):
        return loop.run(_await(result))
    return result


def call_activity(function: FunctionInfo, input_text: str | None, loop: EventLoopThread, folder: str,
                  bindings: dict[str, Any] | None = None) -> str:
    """Run an activity: decode its input as the worker's converter does, return the encoded result.
    `bindings` are its other input bindings by name (a durable client)."""
    value = ActivityTriggerConverter.decode(meta.Datum(type="string", value=input_text or "null"),
                                            trigger_metadata=None)
    result = call(function, {**(bindings or {}), function.trigger["name"]: value}, loop, folder)
    return ActivityTriggerConverter.encode(result, expected_type=None).value


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _parameters(target: Any) -> set[str]:
    try:
        return set(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        return set()
