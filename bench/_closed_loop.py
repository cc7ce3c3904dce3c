"""A closed loop: N workers each calling as fast as the answers come, measured in a window.

Shared by the gRPC load generator and the bare baseline, so both count the same way: the
window opens after a warm-up; throughput counts the calls that ended inside it; latencies
are those of successful calls that started and ended inside it; CPU clocks are read when it
opens and when it closes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Window:
    concurrency: int
    seconds: float
    completed: int
    failed: int
    latencies_s: list[float] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Window:
        return cls(**raw)


async def closed_loop(
    call: Callable[[], Awaitable[bool]],
    *,
    concurrency: int,
    warmup_s: float,
    measure_s: float,
    cpu_clocks: Mapping[str, Callable[[], float]],
) -> Window:
    """Runs `call` (True = success) from `concurrency` workers; see the module docstring."""
    opened: float | None = None
    closed: float | None = None
    stopping = False
    latencies: list[float] = []
    completed = failed = 0

    async def worker() -> None:
        nonlocal completed, failed
        while not stopping:
            started = time.perf_counter()
            try:
                ok = await call()
            except Exception:
                ok = False
            ended = time.perf_counter()
            if opened is None or ended < opened or (closed is not None and ended > closed):
                continue
            completed += 1
            if not ok:
                failed += 1
            elif started >= opened:
                latencies.append(ended - started)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.sleep(warmup_s)
        before = {name: clock() for name, clock in cpu_clocks.items()}
        opened = time.perf_counter()
        await asyncio.sleep(measure_s)
        closed = time.perf_counter()
        after = {name: clock() for name, clock in cpu_clocks.items()}
        stopping = True
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    return Window(
        concurrency=concurrency,
        seconds=closed - opened,
        completed=completed,
        failed=failed,
        latencies_s=latencies,
        cpu_s={name: after[name] - before[name] for name in cpu_clocks},
    )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..100) of unsorted `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]
