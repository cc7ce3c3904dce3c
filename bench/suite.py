"""One benchmark run: the stubs, then each gateway variant and each baseline, in turn, then
the bookings and the store's consent and audit costs.

The reference pair is measured in full: the gateway as it is configured by default
(authentication, consent, audit; asyncio; telemetry as the gateway sets it up with no
`OTEL_*` variable) and the bare baseline (aiohttp transport, asyncio), at every
concurrency, with memory. Variants of the gateway (authentication off, uvloop, telemetry off
and on) and of the baseline (uvloop, httpx2's own transport) are measured at the lowest and
highest concurrency only, which is where they differ, with a lighter window rule; `serve
--workers 2` against `--workers 1` at the highest only. All of it stays under five minutes.
"""

from __future__ import annotations

import asyncio
import enum
import importlib.util
import math
import tempfile
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench._closed_loop import Window, WindowRule, closed_loop
from bench._inflight import InflightMemory, hold_inflight
from bench._loop import uvloop_available
from bench.gateway_load import gateway_client, gateway_clocks, throughput
from bench.processes import (
    Stubs,
    run_baseline,
    run_module,
    running_gateway_process,
    running_otlp_sink,
    running_stubs,
)
from bench.procstat import rss_bytes

# Authlib renews a token this long before it expires (`AsyncOAuth2Client(leeway=60)`).
AUTHLIB_LEEWAY_S = 60
REFERENCE_RULE = WindowRule()
"""The reference gateway and baseline, and the workers' rows."""
VARIANT_RULE = WindowRule(min_calls=60, calls_per_worker=2)
"""Variant rows: their figures are read against the reference, at two concurrencies."""
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


class Group(enum.StrEnum):
    """Rows that `--skip` can leave out; the reference gateway and baseline always run."""

    MEMORY = "memory"
    AUTH_OFF = "auth-off"
    WORKERS = "workers"
    VARIANTS = "variants"  # uvloop, httpx2 transport, telemetry off and on
    RECORDS = "records"  # consent and audit on the store
    BOOKINGS = "bookings"


@dataclass(frozen=True)
class Options:
    levels: tuple[int, ...] = (1, 4, 16, 64, 256)
    rule: WindowRule = REFERENCE_RULE
    variant_rule: WindowRule = VARIANT_RULE
    inflight: int = 1000
    inflight_hold_s: float = 20.0
    token_ttl_s: int = 90
    max_connections: int = 1024
    timeout_s: float = 10.0
    skip: frozenset[Group] = frozenset()
    worker_channels: int = 16
    bookings: int = 20
    bookings_concurrency: int = 8
    bookings_dsn: str | None = DEFAULT_DSN
    record_count: int = 300

    @property
    def variant_levels(self) -> tuple[int, ...]:
        return tuple(sorted({min(self.levels), max(self.levels)}))

    def runs(self, group: Group) -> bool:
        if group is Group.MEMORY and not self.inflight:
            return False
        if group is Group.BOOKINGS and not self.bookings:
            return False
        return group not in self.skip


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
    auth: bool = True
    """The gateway's `auth.required` (the baseline has none)."""
    workers: int = 1
    """`serve --workers`; 1 is the plain `serve` (one process)."""
    channels: int = 1
    """gRPC connections of the load generator."""
    slowest_ms: float = 0.0
    windows: list[Window] = field(default_factory=list)
    memory: InflightMemory | None = None
    tokens: Tokens | None = None
    detail: str = ""

    def window(self, concurrency: int) -> Window | None:
        return next((w for w in self.windows if w.concurrency == concurrency), None)

    @property
    def file_name(self) -> str:
        return self.name.replace(" ", "-").replace(",", "").strip("()")


@dataclass
class Results:
    options: Options
    runs: list[Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bookings: dict[str, Any] | None = None
    """`bench.bookings`'s JSON line."""
    records: dict[str, Any] | None = None
    """`bench.record_costs`'s JSON line."""
    seconds: float = 0.0

    def find(self, kind: str, purpose: str = "throughput", **match: object) -> Run | None:
        """The first run of `kind` and `purpose` whose attributes equal `match`; unnamed
        attributes are those of the reference (authentication on, one worker, one channel)."""
        wanted = {"auth": True, "workers": 1, "channels": 1, **match}
        for run in self.runs:
            if (run.kind, run.purpose) == (kind, purpose) and all(
                getattr(run, k) == v for k, v in wanted.items()
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
    rule: WindowRule,
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
            name=run.file_name,
            uvloop=run.loop == "uvloop",
            max_connections=options.max_connections,
            environment=environment,
            auth_required=run.auth,
            workers=run.workers,
        ) as gateway,
        gateway_client(gateway, options.timeout_s, channels=run.channels) as client,
    ):
        _progress(f"{run.name}: warming up")
        await closed_loop(
            client.compose,
            concurrency=min(levels, default=1),
            rule=rule.process_warmup(),
            cpu_clocks={},
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
                await throughput(client, gateway, stubs, concurrency=level, rule=rule)
            )
        if gateway.worker_pids and run.windows:
            shares = _worker_shares(run.windows[-1], gateway_clocks(gateway, stubs))
            run.detail = f"{run.detail}; {shares}" if run.detail else shares
        ended = time.time()
    run.tokens = _tokens(await stubs.control.stats(), options.token_ttl_s, ended, run.workers)
    return run


def _worker_shares(last: Window, clocks: Mapping[str, object]) -> str:
    """How busy each worker was in a window: SO_REUSEPORT spreads connections by a hash, so
    an idle worker would show here."""
    busy = [
        f"{name} {last.cpu_s[name] / last.seconds * 100:.0f} %"
        for name in clocks
        if name.startswith("worker ") and last.seconds
    ]
    return "CPU of one core, per worker: " + ", ".join(busy)


def _tokens(stats: Mapping[str, Any], ttl_s: int, ended: float, processes: int) -> Tokens:
    """Fetches counted at the stubs, against one per partner per token lifetime begun while
    the gateway was calling, in each of its `processes` (workers keep tokens of their own).
    Authlib renews `AUTHLIB_LEEWAY_S` before expiry, so a lifetime is `ttl_s -
    AUTHLIB_LEEWAY_S` here."""
    partners = stats["partners"]
    times = [t for p in partners.values() for t in p["token_fetch_times"]]
    first = min(times) if times else ended
    lifetime = max(1.0, ttl_s - AUTHLIB_LEEWAY_S)
    per_partner = 1 + math.floor((ended - first) / lifetime)
    return Tokens(
        fetches=sum(int(p["token_fetches"]) for p in partners.values()),
        expected=len(partners) * per_partner * processes,
        refused=sum(int(p["refused"]) for p in partners.values()),
        active_s=ended - first,
        lifetime_s=lifetime,
    )


async def _baseline_run(
    stubs: Stubs,
    options: Options,
    run: Run,
    levels: tuple[int, ...],
    rule: WindowRule,
    *,
    memory: bool = False,
) -> Run:
    run.slowest_ms = await _slowest_ms(stubs)
    doing = f"concurrency {', '.join(map(str, levels))}" if levels else "memory"
    _progress(f"{run.name}: {doing}")
    raw = await run_baseline(
        stubs,
        transport=run.transport,
        uvloop=run.loop == "uvloop",
        levels=list(levels),
        rule=rule,
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
    with tempfile.TemporaryDirectory(prefix="psg-bench-") as tmp:
        workdir = Path(tmp)
        async with running_stubs(options.token_ttl_s) as stubs:
            await _reference_runs(stubs, workdir, options, results)
            if options.runs(Group.AUTH_OFF):
                run = Run("gateway, auth off", "gateway", "asyncio", auth=False)
                run.detail = "auth.required: false; the load generator sends no token"
                results.runs.append(
                    await _gateway_run(
                        stubs, workdir, options, run, options.variant_levels, options.variant_rule
                    )
                )
            if options.runs(Group.WORKERS):
                await _worker_runs(stubs, workdir, options, results)
            if options.runs(Group.VARIANTS):
                await _variant_runs(stubs, workdir, options, results)
    if options.runs(Group.RECORDS):
        _progress("consent and audit records on the store")
        results.records = await run_module(
            "bench.record_costs", "--count", str(options.record_count), "--concurrency", "1,16"
        )
    if options.runs(Group.BOOKINGS):
        await _bookings(options, results)
    results.seconds = time.perf_counter() - started
    return results


async def _reference_runs(stubs: Stubs, workdir: Path, options: Options, results: Results) -> None:
    rule = options.rule
    reference = Run("gateway", "gateway", "asyncio")
    levels = options.levels
    results.runs.append(await _gateway_run(stubs, workdir, options, reference, levels, rule))
    base = Run("baseline", "baseline", "asyncio")
    results.runs.append(await _baseline_run(stubs, options, base, options.levels, rule))
    if options.runs(Group.MEMORY):
        # Each in a fresh process: memory a process once grew to stays its own, so a hold
        # after the throughput rows would hide what the compositions cost.
        held = Run("gateway, in flight", "gateway", "asyncio", purpose="memory")
        results.runs.append(
            await _gateway_run(stubs, workdir, options, held, (), rule, memory=True)
        )
        held = Run("baseline, in flight", "baseline", "asyncio", purpose="memory")
        results.runs.append(await _baseline_run(stubs, options, held, (), rule, memory=True))


async def _worker_runs(stubs: Stubs, workdir: Path, options: Options, results: Results) -> None:
    """`serve --workers 2` against one process, at saturation, with the same client: several
    connections, since the kernel spreads connections over the workers, not calls."""
    top = (max(options.levels),)
    for workers in (1, 2):
        run = Run(
            f"gateway, workers {workers}",
            "gateway",
            "asyncio",
            workers=workers,
            channels=options.worker_channels,
        )
        started = "plain `serve` (one process)" if workers == 1 else "`serve --workers 2`"
        run.detail = f"{started}, load over {options.worker_channels} connections"
        results.runs.append(await _gateway_run(stubs, workdir, options, run, top, options.rule))


async def _variant_runs(stubs: Stubs, workdir: Path, options: Options, results: Results) -> None:
    few, rule = options.variant_levels, options.variant_rule
    if uvloop_available():
        run = Run("gateway, uvloop", "gateway", "uvloop")
        results.runs.append(await _gateway_run(stubs, workdir, options, run, few, rule))
        run = Run("baseline, uvloop", "baseline", "uvloop")
        results.runs.append(await _baseline_run(stubs, options, run, few, rule))
    else:
        results.notes.append("uvloop is not installed: no uvloop rows")
    run = Run("baseline, httpx2 transport", "baseline", "asyncio", transport="httpx2")
    results.runs.append(await _baseline_run(stubs, options, run, few, rule))
    if telemetry_available():
        await _telemetry_runs(stubs, workdir, options, results)
    else:
        results.notes.append("telemetry off/on: n/a (no telemetry yet)")


async def _telemetry_runs(stubs: Stubs, workdir: Path, options: Options, results: Results) -> None:
    few, rule = options.variant_levels, options.variant_rule
    off = Run("gateway, telemetry off", "gateway", "asyncio", telemetry="off")
    off.detail = "OTEL_SDK_DISABLED=true"
    results.runs.append(
        await _gateway_run(
            stubs, workdir, options, off, few, rule, environment={"OTEL_SDK_DISABLED": "true"}
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
            await _gateway_run(stubs, workdir, options, on, few, rule, environment=environment)
        )
    on.detail = (
        f"OTLP batch export of traces and metrics to a local sink: {sink.exports} exports, "
        f"{sink.bytes / 2**20:.1f} MiB"
    )


def _postgres_problem(dsn: str) -> str | None:
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return " ".join(str(exc).split())[:120]
    return None


async def _bookings(options: Options, results: Results) -> None:
    """`bench.bookings` at a small size: SQLite, PostgreSQL, and two replicas on it."""
    dsn = options.bookings_dsn or ""
    if dsn and (problem := await asyncio.to_thread(_postgres_problem, dsn)):
        results.notes.append(f"no PostgreSQL booking rows: {problem}")
        dsn = ""
    where = "SQLite and PostgreSQL" if dsn else "SQLite"
    count, concurrency = options.bookings, options.bookings_concurrency
    _progress(f"bookings: {count} at concurrency {concurrency}, {where}")
    results.bookings = await run_module(
        "bench.bookings",
        "--orders",
        str(count),
        "--concurrency",
        str(concurrency),
        "--dsn",
        dsn,
    )
