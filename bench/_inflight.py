"""Memory per composition in flight: hold many at the stubs, sample the process's RSS."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx2

from bench._outcomes import Outcome, describe


class StubControl:
    """The partner stubs' control port (see `bench.stubs`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx2.AsyncClient(timeout=10, trust_env=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.aclose()

    async def stats(self) -> dict[str, Any]:
        response = await self._http.get(f"{self.url}/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    async def set_latency(self, latencies: Mapping[str, float]) -> None:
        (await self._http.post(f"{self.url}/latency", json=dict(latencies))).raise_for_status()

    async def release(self) -> None:
        """Every quote waiting out its latency is answered now."""
        (await self._http.post(f"{self.url}/release")).raise_for_status()

    async def reset(self) -> None:
        (await self._http.post(f"{self.url}/reset")).raise_for_status()


@dataclass(frozen=True)
class InflightMemory:
    compositions: int
    partner_calls_seen: int
    rss_idle_bytes: int
    rss_peak_bytes: int
    succeeded: int
    ramp_s: float
    failures: dict[str, int] = field(default_factory=dict)
    """Why the others were not answered in full: reason → count."""

    @property
    def kb_per_inflight(self) -> float:
        return (self.rss_peak_bytes - self.rss_idle_bytes) / 1024 / self.compositions

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> InflightMemory:
        return cls(**raw)


async def hold_inflight(
    compose: Callable[[], Coroutine[Any, Any, Outcome]],
    rss: Callable[[], int],
    control: StubControl,
    *,
    count: int,
    hold_s: float,
    settle_s: float = 1.5,
) -> InflightMemory:
    """Starts `count` compositions against partners that answer only after `hold_s`, waits
    until every partner call has reached the stubs (or their number stops growing for
    `settle_s`), samples `rss()`, then has the stubs answer them all at once, and counts why
    any was not answered in full."""
    stats = await control.stats()
    original = {pid: p["latency_ms"] for pid, p in stats["partners"].items()}
    expected = count * len(original)
    await control.set_latency({"*": hold_s * 1000})
    await asyncio.sleep(0.3)  # answers already under way come back
    idle = rss()
    started = time.perf_counter()
    calls = [asyncio.create_task(compose()) for _ in range(count)]
    seen, grew, peak = 0, started, idle
    try:
        while (now := time.perf_counter()) - started < hold_s * 0.8:
            inflight = (await control.stats())["inflight"]
            if inflight > seen:
                seen, grew = inflight, now
            if seen >= expected or now - grew > settle_s:
                break
            await asyncio.sleep(0.05)
        for _ in range(5):
            peak = max(peak, rss())
            await asyncio.sleep(0.02)
    finally:
        ramp = time.perf_counter() - started
        await control.set_latency(original)
        await control.release()
        results = await asyncio.gather(*calls, return_exceptions=True)
    failures = Counter(
        describe(r) if isinstance(r, BaseException) else r for r in results if r is not None
    )
    return InflightMemory(
        compositions=count,
        partner_calls_seen=seen,
        rss_idle_bytes=idle,
        rss_peak_bytes=peak,
        succeeded=sum(r is None for r in results),
        ramp_s=ramp,
        failures=dict(failures),
    )
