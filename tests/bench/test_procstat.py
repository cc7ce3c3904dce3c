"""CPU of a process tree from /proc: a parent that only waits, and the child it started that
burns CPU, as `serve --workers` does with its workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from bench.procstat import cpu_seconds, descendants, tree_cpu_seconds

# The child burns 0.4 s of CPU, then waits to be killed, so it is still there to be read.
_BURN = (
    "import time\n"
    "end = time.process_time() + 0.4\n"
    "while time.process_time() < end: pass\n"
    "time.sleep(30)"
)
_PARENT = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {_BURN!r}])"


def test_the_cpu_of_a_tree_counts_the_children_that_did_the_work() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT])
    try:
        give_up = time.monotonic() + 20
        while not (below := descendants(parent.pid)) and time.monotonic() < give_up:
            time.sleep(0.05)
        assert len(below) == 1
        child = below[0]
        while cpu_seconds(child) < 0.35 and time.monotonic() < give_up:
            time.sleep(0.05)
        assert cpu_seconds(parent.pid) < 0.3  # the parent only waits
        assert tree_cpu_seconds(parent.pid) >= cpu_seconds(parent.pid) + 0.35
    finally:
        for pid in descendants(parent.pid):
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
