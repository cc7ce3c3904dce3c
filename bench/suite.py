"""One benchmark run: the stubs, then each gateway variant and each baseline, in turn.

The reference pair is measured in full: the gateway as it is configured by default (asyncio,
telemetry as the gateway sets it up with no `OTEL_*` variable) and the bare baseline (aiohttp
transport, asyncio), at every concurrency, with memory. Variants (uvloop, telemetry off and
on, httpx2's own transport) are measured at the lowest and highest concurrency only, which
is where they differ, so the whole run stays under five minutes.
"""

from __future__ import annotations

import importlib.util
import math
import tempfile
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._closed_loop import Window
from bench._inflight import InflightMemory, hold_inflight
from bench._loop import uvloop_available
from bench.gateway_load import gateway_client, throughput
from bench.processes import (
    Stubs,
    run_baseline,
    running_gateway_process,
    running_otlp_sink,
    running_stubs,
)
from bench.procstat import rss_bytes

# Authlib renews a token this long before it expires (`AsyncOAuth2Client(leeway=60)`).
AUTHLIB_LEEWAY_S = 60


@dataclass(frozen=True)
class Options:
    levels: tuple[int, ...] = (1, 4, 16, 64, 256)
    warmup_s: float = 1.5
    measure_s: float = 5.0
    inflight: int = 1000
    inflight_hold_s: float = 20.0
    token_ttl_s: int = 90
    max_connections: int = 1024
    variants: bool = True
    timeout_s: float = 10.0

    @property
    def variant_levels(self) -> tuple[int, ...]:
        return tuple(sorted({min(self.levels), max(self.levels)}))


@dataclass
class Tokens:
    fetches: int
    expected: int
    refused: int
    active_s: float
    lifetime_s: float


@dataclass
class Run:
    """One process measured: the gateway (over gRPC) or a bare baseline (in-process)."""

    name: str
    kind: str  # gateway | baseline
    loop: str  # asyncio | uvloop
    transport: str = "aiohttp"
    telemetry: str = "default"  # default | off | on
    purpose: str = "throughput"  # throughput | memory
    slowest_ms: float = 0.0
    windows: list[Window] = field(default_factory=list)
    memory: InflightMemory | None = None
    tokens: Tokens | None = None
    detail: str = ""

    def window(self, concurrency: int) -> Window | None:
        return next((w for w in self.windows if w.concurrency == concurrency), None)


@dataclass
class Results:
    options: Options
    runs: list[Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def find(self, kind: str, purpose: str = "throughput", **match: str) -> Run | None:
        for run in self.runs:
            if (run.kind, run.purpose) == (kind, purpose) and all(
                getattr(run, k) == v for k, v in match.items()
            ):
                return run
        return None


def _progress(message: str) -> None:
    print(f"… {message}", flush=True)


async def _slowest_ms(stubs: Stubs) -> float:
    """Every composition asks all six partners: its slowest is the slowest configured."""
    stats = await stubs.control.stats()
    return max(float(p["latency_ms"]) for p in stats["partners"].values())


async def _gateway_run(
    stubs: Stubs,
    workdir: Path,
    options: Options,
    run: Run,
    levels: tuple[int, ...],
    *,
    memory: bool = False,
    environment: Mapping[str, str] | None = None,
) -> Run:
    await stubs.control.reset()
    run.slowest_ms = await _slowest_ms(stubs)
    async with (
        running_gateway_process(
            stubs,
            workdir,
            name=run.name.replace(" ", "-").replace(",", "").strip("()"),
            uvloop=run.loop == "uvloop",
            max_connections=options.max_connections,
            environment=environment,
        ) as gateway,
        gateway_client(gateway, options.timeout_s) as client,
    ):
        _progress(f"{run.name}: warming up")
        await throughput(
            client,
            gateway,
            stubs,
            concurrency=min(levels, default=1),
            warmup_s=0,
            measure_s=min(1.0, options.measure_s),
        )
        if memory and options.inflight:
            _progress(f"{run.name}: {options.inflight} compositions in flight")
            hold_s = options.inflight_hold_s
            run.memory = await hold_inflight(
                lambda: client.compose(timeout_s=hold_s + 10),
                lambda: rss_bytes(gateway.pid),
                stubs.control,
                count=options.inflight,
                hold_s=hold_s,
            )
        for level in levels:
            _progress(f"{run.name}: concurrency {level}")
            run.windows.append(
                await throughput(
                    client,
                    gateway,
                    stubs,
                    concurrency=level,
                    warmup_s=options.warmup_s,
                    measure_s=options.measure_s,
                )
            )
        ended = time.time()
    run.tokens = _tokens(await stubs.control.stats(), options.token_ttl_s, ended)
    return run


def _tokens(stats: Mapping[str, Any], ttl_s: int, ended: float) -> Tokens:
    """Fetches counted at the stubs, against one per partner per token lifetime begun while
    the gateway was calling. Authlib renews `AUTHLIB_LEEWAY_S` before expiry, so a lifetime
    is `ttl_s - AUTHLIB_LEEWAY_S` here."""
    partners = stats["partners"]
    times = [t for p in partners.values() for t in p["token_fetch_times"]]
    first = min(times) if times else ended
    lifetime = max(1.0, ttl_s - AUTHLIB_LEEWAY_S)
    per_partner = 1 + math.floor((ended - first) / lifetime)
    return Tokens(
        fetches=sum(int(p["token_fetches"]) for p in partners.values()),
        expected=len(partners) * per_partner,
        refused=sum(int(p["refused"]) for p in partners.values()),
        active_s=ended - first,
        lifetime_s=lifetime,
    )


async def _baseline_run(
    stubs: Stubs, options: Options, run: Run, levels: tuple[int, ...], *, memory: bool = False
) -> Run:
    run.slowest_ms = await _slowest_ms(stubs)
    doing = f"concurrency {', '.join(map(str, levels))}" if levels else "memory"
    _progress(f"{run.name}: {doing}")
    raw = await run_baseline(
        stubs,
        transport=run.transport,
        uvloop=run.loop == "uvloop",
        levels=list(levels),
        warmup_s=options.warmup_s,
        measure_s=options.measure_s,
        max_connections=options.max_connections,
        inflight=options.inflight if memory else 0,
        hold_s=options.inflight_hold_s,
    )
    run.windows = [Window.from_json(w) for w in raw["windows"]]
    if raw["memory"]:
        run.memory = InflightMemory.from_json(raw["memory"])
    return run


def telemetry_available() -> bool:
    return importlib.util.find_spec("gateway.telemetry") is not None


async def run_suite(options: Options) -> Results:
    started = time.perf_counter()
    results = Results(options)
    few = options.variant_levels
    with tempfile.TemporaryDirectory(prefix="psg-bench-") as tmp:
        workdir = Path(tmp)
        async with running_stubs(options.token_ttl_s) as stubs:
            reference = Run("gateway", "gateway", "asyncio")
            results.runs.append(
                await _gateway_run(stubs, workdir, options, reference, options.levels)
            )
            base = Run("baseline", "baseline", "asyncio")
            results.runs.append(await _baseline_run(stubs, options, base, options.levels))
            if options.inflight:
                # Each in a fresh process: memory a process once grew to stays its own, so
                # a hold after the throughput rows would hide what the compositions cost.
                held = Run("gateway, in flight", "gateway", "asyncio", purpose="memory")
                results.runs.append(
                    await _gateway_run(stubs, workdir, options, held, (), memory=True)
                )
                held = Run("baseline, in flight", "baseline", "asyncio", purpose="memory")
                results.runs.append(await _baseline_run(stubs, options, held, (), memory=True))
            if not options.variants:
                results.seconds = time.perf_counter() - started
                return results
            if uvloop_available():
                for run in (Run("gateway, uvloop", "gateway", "uvloop"),):
                    results.runs.append(await _gateway_run(stubs, workdir, options, run, few))
                run = Run("baseline, uvloop", "baseline", "uvloop")
                results.runs.append(await _baseline_run(stubs, options, run, few))
            else:
                results.notes.append("uvloop is not installed: no uvloop rows")
            run = Run("baseline, httpx2 transport", "baseline", "asyncio", transport="httpx2")
            results.runs.append(await _baseline_run(stubs, options, run, few))
            if telemetry_available():
                await _telemetry_runs(stubs, workdir, options, results)
            else:
                results.notes.append("telemetry off/on: n/a (no telemetry yet)")
    results.seconds = time.perf_counter() - started
    return results


async def _telemetry_runs(stubs: Stubs, workdir: Path, options: Options, results: Results) -> None:
    few = options.variant_levels
    off = Run("gateway, telemetry off", "gateway", "asyncio", telemetry="off")
    off.detail = "OTEL_SDK_DISABLED=true"
    results.runs.append(
        await _gateway_run(
            stubs,
            workdir,
            options,
            off,
            few,
            memory=False,
            environment={"OTEL_SDK_DISABLED": "true"},
        )
    )
    on = Run("gateway, telemetry on", "gateway", "asyncio", telemetry="on")
    async with AsyncExitStack() as stack:
        sink = await stack.enter_async_context(running_otlp_sink())
        environment = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
            "OTEL_SERVICE_NAME": "partner-gateway-bench",
        }
        results.runs.append(
            await _gateway_run(stubs, workdir, options, on, few, environment=environment)
        )
    on.detail = (
        f"OTLP batch export of traces and metrics to a local sink: {sink.exports} exports, "
        f"{sink.bytes / 2**20:.1f} MiB"
    )
