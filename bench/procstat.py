"""CPU time and resident memory of another process, from /proc (Linux)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of `pid` so far (clock-tick resolution)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS_PER_S


def children(pid: int) -> list[int]:
    """The live child processes of `pid`, whichever of its threads started them."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`: children, their children, and so on."""
    below = children(pid)
    for child in list(below):
        with contextlib.suppress(FileNotFoundError):  # a child that just ended
            below += descendants(child)
    return below


def tree_cpu_seconds(pid: int) -> float:
    """CPU of `pid` and of every live process below it (`serve --workers`: the parent and
    its workers). A child that ended before the call is not counted."""
    total = cpu_seconds(pid)
    for child in descendants(pid):
        with contextlib.suppress(FileNotFoundError):
            total += cpu_seconds(child)
    return total


def host_busy_seconds() -> float:
    """CPU time the whole machine has been busy so far, summed over its cores (/proc/stat:
    everything but idle and iowait). Over a window, ÷ its length ÷ `os.cpu_count()` says how
    busy the machine was: near 100 %, the processes measured also waited for a core."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / _TICKS_PER_S


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS for process {pid}")
