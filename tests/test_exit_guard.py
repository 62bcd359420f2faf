"""The test process ends after its summary even when a test leaked a blocked thread or a child process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LEAKY = textwrap.dedent("""
    import subprocess, sys, threading
    from concurrent.futures import ThreadPoolExecutor
    sys.path.insert(0, {root!r})
    from tests import exit_guard
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(child.pid, flush=True)
    threading.Thread(target=threading.Event().wait, name="stuck-forever").start()
    ThreadPoolExecutor(2).submit(threading.Event().wait)  # a pool thread blocked: joined at exit
    ThreadPoolExecutor(2).submit(int)  # an idle pool thread: the exit wakes it, not a leak
    exit_guard.release({status}, grace={grace})
    print("released", flush=True)
""")


def run(status: int, grace: float) -> subprocess.CompletedProcess:
    script = LEAKY.format(root=str(ROOT), status=status, grace=grace)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def test_a_blocked_thread_and_a_child_left_behind_do_not_hold_the_exit():
    started = time.monotonic()
    done = run(status=3, grace=0.5)
    assert time.monotonic() - started < 30
    assert done.returncode == 3  # the session's own status
    assert "released" not in done.stdout
    assert "ended 1 child process" in done.stderr and "time.sleep(600)" in done.stderr
    assert "2 thread(s) still busy" in done.stderr and "--- stuck-forever" in done.stderr
    child = int(done.stdout.split()[0])
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


def test_with_nothing_left_behind_the_process_ends_at_once_with_the_status_and_says_nothing():
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from concurrent.futures import ThreadPoolExecutor
        from tests import exit_guard
        ThreadPoolExecutor(2).submit(int).result()
        exit_guard.release(0, grace=0.5)
        print("released", flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "released" not in done.stdout and done.stderr == ""
