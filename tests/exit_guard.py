"""Let the test process end after its last test, whatever a test left behind.

Python joins every pool thread and every non-daemon thread at exit, and a CI runner reading the output
waits for every process still holding it. A thread blocked for good, or a child process left running,
would hold the run open long after its summary line (one such run ran into CI's time limit). So after
the session: child processes still running are ended, threads still busy are given a few seconds, then
named with their stacks, and the process exits at once with the session's own status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

GRACE_SECONDS = 10.0


def release(status: int, grace: float = GRACE_SECONDS) -> None:
    """End what the tests left running, name what would hold the exit, then exit now with `status`.

    Exiting here skips the interpreter's own shutdown (joining threads, atexit handlers), where a leaked
    thread or handler could block for good; the summary has been written and is flushed first.
    """
    leftovers = _end_children()
    busy = _busy_threads(grace)
    if leftovers:
        _say(f"exit guard: ended {len(leftovers)} child process(es) a test left running: " + "; ".join(leftovers))
    if busy:
        frames = sys._current_frames()
        lines = [f"exit guard: {len(busy)} thread(s) still busy {grace:g} s after the last test:"]
        for thread in busy:
            frame = frames.get(thread.ident or -1)
            lines.append(f"--- {thread.name}")
            lines.extend(line.rstrip() for line in traceback.format_stack(frame) if frame is not None)
        _say("\n".join(lines))
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


def _busy_threads(grace: float) -> list[threading.Thread]:
    deadline = time.monotonic() + grace
    while True:
        busy = [t for t in threading.enumerate()
                if t is not threading.main_thread() and not t.daemon and t.is_alive() and not _idle_pool_worker(t)]
        if not busy or time.monotonic() >= deadline:
            return busy
        time.sleep(0.1)


def _idle_pool_worker(thread: threading.Thread) -> bool:
    # An idle concurrent.futures worker waits in its own `_worker` loop (on a C-level queue get), so that
    # frame is the innermost Python frame; the interpreter's exit wakes and joins it.
    frame = sys._current_frames().get(thread.ident or -1)
    return frame is not None and frame.f_code.co_name == "_worker" and "concurrent" in frame.f_code.co_filename


def _end_children() -> list[str]:
    children = _descendants(os.getpid())
    named = [f"{pid} {_command(pid)}" for pid in children]
    for pid in children:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    for pid in children:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    return named


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and _alive(pid):
                found.append(pid)
                frontier.append(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"  # a zombie has ended; only its parent's wait is missing


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, sig)


def _say(text: str) -> None:
    stream = sys.__stderr__ or sys.stderr
    stream.write(text + "\n")
    stream.flush()
