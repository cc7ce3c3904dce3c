"""A closed loop: N workers each calling as fast as the answers come, measured in a window.

Shared by the gRPC load generator and the bare baseline, so both count the same way. The
warm-up lasts until `concurrency` calls have completed (the pipeline is full: at saturation
the first answers take a whole queue's latency) and at least `WindowRule.warmup_min_s`. Then
the window opens, and it closes once enough calls have completed in it (`WindowRule.calls`)
and at least `WindowRule.min_s` has passed, or at `WindowRule.cap_s` whatever the count,
which the window records as capped. A fixed time would measure a slow row on a handful of
calls: at saturation a single call can take longer than a short window.

Throughput counts the calls that ended inside the window; latencies are those of successful
calls that started and ended inside it; CPU clocks are read when it opens and when it closes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bench._outcomes import Outcome, describe


@dataclass(frozen=True)
class WindowRule:
    """When a row's warm-up ends and its window closes (see the module docstring)."""

    min_calls: int = 200
    calls_per_worker: int = 4
    min_s: float = 3.0
    cap_s: float = 30.0
    warmup_min_s: float = 1.0

    def __post_init__(self) -> None:
        if self.min_calls < 1 or self.calls_per_worker < 0:
            raise ValueError("a window needs at least one call")
        if not 0 <= self.min_s <= self.cap_s or self.warmup_min_s < 0:
            raise ValueError("need 0 ≤ min_s ≤ cap_s and warmup_min_s ≥ 0")

    def calls(self, concurrency: int) -> int:
        """Completions that close the window: a few per worker, so that at saturation the
        window spans several latencies of a call, and never fewer than `min_calls`."""
        return max(self.min_calls, self.calls_per_worker * concurrency)

    def process_warmup(self) -> WindowRule:
        """A fresh process's first calls (connections, partner tokens, imports): a window of
        `warmup_min_s`, run once before its first row and thrown away."""
        return WindowRule(
            min_calls=1,
            calls_per_worker=0,
            min_s=self.warmup_min_s,
            cap_s=self.warmup_min_s,
            warmup_min_s=0.0,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> WindowRule:
        return cls(**raw)


@dataclass
class Window:
    concurrency: int
    seconds: float
    completed: int
    failed: int
    latencies_s: list[float] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)
    target_calls: int = 0
    """Completions the window waited for."""
    capped: bool = False
    """The window closed at the rule's cap, before `target_calls` completed."""
    warmup_s: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)
    """Why calls ending in the window failed: reason → count."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Window:
        return cls(**raw)


async def _until(event: asyncio.Event, min_s: float, cap_s: float) -> bool:
    """Waits `min_s`, then for `event` until `cap_s` in all; whether it came."""
    await asyncio.sleep(min_s)
    try:
        async with asyncio.timeout(max(0.0, cap_s - min_s)):
            await event.wait()
    except TimeoutError:
        return event.is_set()
    return True


async def closed_loop(
    call: Callable[[], Awaitable[Outcome]],
    *,
    concurrency: int,
    rule: WindowRule,
    cpu_clocks: Mapping[str, Callable[[], float]],
) -> Window:
    """Runs `call` (None = success, else why not) from `concurrency` workers; see the module
    docstring."""
    opened: float | None = None
    closed: float | None = None
    stopping = False
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    ended = completed = failed = 0
    target = rule.calls(concurrency)
    warm, enough = asyncio.Event(), asyncio.Event()

    async def worker() -> None:
        nonlocal ended, completed, failed
        while not stopping:
            started = time.perf_counter()
            try:
                problem = await call()
            except Exception as exc:
                problem = describe(exc)
            finished = time.perf_counter()
            ended += 1
            if ended >= concurrency:
                warm.set()
            if opened is None or finished < opened or (closed is not None and finished > closed):
                continue
            completed += 1
            if problem is not None:
                failed += 1
                failures[problem] += 1
            elif started >= opened:
                latencies.append(finished - started)
            if completed >= target:
                enough.set()

    began = time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await _until(warm, rule.warmup_min_s, max(rule.warmup_min_s, rule.cap_s))
        before = {name: clock() for name, clock in cpu_clocks.items()}
        opened = time.perf_counter()
        reached = await _until(enough, rule.min_s, rule.cap_s)
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
        target_calls=target,
        capped=not reached,
        warmup_s=opened - began,
        failures=dict(failures),
    )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..100) of unsorted `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]
