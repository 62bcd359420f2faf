"""The host's event loop: a call waiting on it ends when the host stops, so no thread outlives the host.

A pool thread blocked on a stopped loop never returns, and the interpreter joins pool threads at exit:
one such call kept a whole test run from exiting after its last test.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from devhost.invoke import EventLoopThread, HostStopped


def test_a_call_waiting_when_the_loop_stops_ends_with_host_stopped():
    loop = EventLoopThread()
    started, outcome = threading.Event(), []

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    def caller() -> None:
        try:
            loop.run(forever())
        except HostStopped as stopped:
            outcome.append(stopped)

    thread = threading.Thread(target=caller)
    thread.start()
    assert started.wait(5)
    loop.stop()
    thread.join(5)
    assert not thread.is_alive() and len(outcome) == 1


def test_a_call_after_the_loop_stopped_is_refused_at_once():
    loop = EventLoopThread()
    loop.stop()

    async def answer() -> int:
        return 42

    with pytest.raises(HostStopped):
        loop.run(answer(), timeout=5)


def test_calls_before_the_stop_answer_as_usual():
    loop = EventLoopThread()

    async def answer() -> int:
        return 42

    assert loop.run(answer(), timeout=5) == 42
    loop.stop()
