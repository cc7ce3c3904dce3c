"""The benchmark's table, and its headline figures as one JSON object."""

from __future__ import annotations

import math
from typing import Any

from bench._closed_loop import Window, percentile
from bench.suite import Results, Run

NAN = float("nan")


def rate(w: Window) -> float:
    return w.completed / w.seconds if w.seconds else NAN


def cpu_ms(w: Window, clock: str) -> float:
    return w.cpu_s[clock] / w.completed * 1000 if w.completed else NAN


def process_cpu_ms(run: Run, w: Window) -> float:
    """CPU per composition of the measured process: the gateway's, or the baseline's."""
    return cpu_ms(w, "gateway" if run.kind == "gateway" else "process")


def overhead_ms(run: Run, w: Window, q: float) -> float:
    return percentile(w.latencies_s, q) * 1000 - run.slowest_ms


def ratio(a: float, b: float) -> float:
    return a / b if b and not (math.isnan(a) or math.isnan(b)) else NAN


def _f(value: float, digits: int = 1) -> str:
    return "—" if math.isnan(value) else f"{value:.{digits}f}"


def _r(value: float, digits: int = 2) -> float | None:
    return None if math.isnan(value) else round(value, digits)


_HEADER = (
    f"{'variant':28} {'conc':>4} {'comp/s':>7} {'×base':>6} {'ovh p50':>8} {'p90':>6} "
    f"{'p99':>6} {'CPU ms':>7} {'×base':>6} {'CPU %':>6} {'stub ms':>7} {'load ms':>7} "
    f"{'failed':>6}"
)


def _line(run: Run, w: Window, base: Window | None) -> str:
    own_cpu = process_cpu_ms(run, w)
    clock = "gateway" if run.kind == "gateway" else "process"
    stub = cpu_ms(w, "stubs") if "stubs" in w.cpu_s else NAN
    load = cpu_ms(w, "client") if "client" in w.cpu_s else NAN
    return (
        f"{run.name:28} {w.concurrency:>4} {rate(w):>7.0f} "
        f"{_f(ratio(rate(w), rate(base)) if base else NAN, 2):>6} "
        f"{_f(overhead_ms(run, w, 50), 1):>8} {_f(overhead_ms(run, w, 90)):>6} "
        f"{_f(overhead_ms(run, w, 99)):>6} {_f(own_cpu, 2):>7} "
        f"{_f(ratio(own_cpu, cpu_ms(base, 'process')) if base else NAN, 2):>6} "
        f"{_f(w.cpu_s[clock] / w.seconds * 100, 0):>6} {_f(stub, 2):>7} {_f(load, 2):>7} "
        f"{w.failed:>6}"
    )


def _compare(label: str, a: Run | None, b: Run | None, concurrency: int) -> str | None:
    """`a` against `b` at one concurrency: throughput, CPU and overhead p50."""
    wa, wb = (a.window(concurrency) if a else None), (b.window(concurrency) if b else None)
    if a is None or b is None or wa is None or wb is None:
        return None
    return (
        f"{label} at concurrency {concurrency}: throughput ×{_f(ratio(rate(wa), rate(wb)), 2)}, "
        f"CPU per composition ×{_f(ratio(process_cpu_ms(a, wa), process_cpu_ms(b, wb)), 2)}, "
        f"overhead p50 {_f(overhead_ms(a, wa, 50))} vs {_f(overhead_ms(b, wb, 50))} ms"
    )


def table(results: Results) -> str:
    o = results.options
    base = results.find("baseline", loop="asyncio", transport="aiohttp")
    slowest = results.runs[0].slowest_ms
    lines = [
        "Composition benchmark: the gateway over gRPC against a bare scatter-gather, six "
        f"partner stubs on loopback (slowest partner {slowest:g} ms; token TTL "
        f"{o.token_ttl_s} s; {o.measure_s:g} s measured per row after {o.warmup_s:g} s)",
        "",
        _HEADER,
    ]
    for run in results.runs:
        for w in run.windows:
            lines.append(_line(run, w, base.window(w.concurrency) if base else None))
    lines += [
        "",
        "ovh = end-to-end latency − the slowest partner's latency, ms (p50, p90, p99); ×base = "
        "ratio to 'baseline' (aiohttp transport, asyncio) at the same concurrency; CPU ms = CPU "
        "of the measured process per composition; CPU % = of one core; stub / load ms = CPU "
        "per composition of the partner stubs and of the gRPC load generator.",
        "",
    ]
    for run in results.runs:
        if run.memory:
            m = run.memory
            lines.append(
                f"memory, {run.name}: {m.compositions} compositions in flight "
                f"({m.partner_calls_seen} partner calls waiting at the stubs, reached in "
                f"{m.ramp_s:.1f} s): RSS {m.rss_idle_bytes / 2**20:.1f} → "
                f"{m.rss_peak_bytes / 2**20:.1f} MiB = {m.kb_per_inflight:.1f} KB per "
                f"composition; {m.succeeded} of {m.compositions} answered in full"
            )
    for run in results.runs:
        if run.tokens:
            t = run.tokens
            lines.append(
                f"tokens, {run.name}: {t.fetches} fetched, {t.expected} expected (6 partners × "
                f"lifetimes of {t.lifetime_s:g} s begun in {t.active_s:.0f} s), "
                f"{t.refused} calls refused for their token"
            )
    top, low = max(o.levels), min(o.levels)
    reference = results.find("gateway", loop="asyncio", telemetry="default")
    comparisons = [
        _compare(
            "uvloop, gateway",
            results.find("gateway", loop="uvloop"),
            reference,
            top,
        ),
        _compare(
            "uvloop, baseline",
            results.find("baseline", loop="uvloop"),
            base,
            top,
        ),
        _compare(
            "uvloop gateway vs uvloop baseline",
            results.find("gateway", loop="uvloop"),
            results.find("baseline", loop="uvloop"),
            top,
        ),
        _compare(
            "HTTP client, httpx2's own transport vs aiohttp transport (baseline)",
            results.find("baseline", transport="httpx2"),
            base,
            top,
        ),
        _compare(
            "telemetry on vs off",
            results.find("gateway", telemetry="on"),
            results.find("gateway", telemetry="off"),
            top,
        ),
        _compare(
            "telemetry on vs off",
            results.find("gateway", telemetry="on"),
            results.find("gateway", telemetry="off"),
            low,
        ),
        _compare(
            "telemetry default (spans made, not exported) vs off",
            reference,
            results.find("gateway", telemetry="off"),
            top,
        ),
    ]
    lines += [c for c in comparisons if c]
    lines += [f"{run.name}: {run.detail}" for run in results.runs if run.detail]
    lines += [f"note: {n}" for n in results.notes]
    lines.append(f"run took {results.seconds:.0f} s")
    return "\n".join(lines)


def summary(results: Results) -> dict[str, Any]:
    """Headline figures of the reference gateway run against the reference baseline.

    Overhead is quoted at the lowest concurrency (meant to be below saturation); throughput
    and CPU at the highest, where both sides are CPU-bound.
    """
    gw = results.find("gateway", loop="asyncio", telemetry="default") or results.runs[0]
    base = results.find("baseline", loop="asyncio", transport="aiohttp")
    gw_held = results.find("gateway", "memory")
    base_held = results.find("baseline", "memory")
    low, high = gw.windows[0], gw.windows[-1]
    base_high = base.window(high.concurrency) if base else None
    out: dict[str, Any] = {
        "overhead_p50_ms": _r(overhead_ms(gw, low, 50)),
        "overhead_p90_ms": _r(overhead_ms(gw, low, 90)),
        "overhead_p99_ms": _r(overhead_ms(gw, low, 99)),
        "overhead_concurrency": low.concurrency,
        "throughput_ratio_vs_baseline": _r(ratio(rate(high), rate(base_high)))
        if base_high
        else None,
        "throughput_concurrency": high.concurrency,
        "cpu_ms_per_composition": _r(process_cpu_ms(gw, high), 3),
        "cpu_ratio_vs_baseline": _r(ratio(process_cpu_ms(gw, high), cpu_ms(base_high, "process")))
        if base_high
        else None,
        "kb_per_inflight": _r(gw_held.memory.kb_per_inflight, 1)
        if gw_held and gw_held.memory
        else None,
        "token_fetches": gw.tokens.fetches if gw.tokens else None,
        "token_fetches_expected": gw.tokens.expected if gw.tokens else None,
        "failed": sum(w.failed for w in gw.windows),
        "overhead_p50_ms_by_concurrency": {
            str(w.concurrency): _r(overhead_ms(gw, w, 50)) for w in gw.windows
        },
        "compositions_per_s": {str(w.concurrency): _r(rate(w), 1) for w in gw.windows},
    }
    if base:
        out["baseline_overhead_p50_ms"] = _r(overhead_ms(base, base.windows[0], 50))
        out["baseline_overhead_p99_ms"] = _r(overhead_ms(base, base.windows[0], 99))
        out["baseline_compositions_per_s"] = {
            str(w.concurrency): _r(rate(w), 1) for w in base.windows
        }
        out["baseline_cpu_ms_per_composition"] = _r(cpu_ms(base.windows[-1], "process"), 3)
        out["baseline_kb_per_inflight"] = (
            _r(base_held.memory.kb_per_inflight, 1) if base_held and base_held.memory else None
        )
    for key, run in (
        ("uvloop", results.find("gateway", loop="uvloop")),
        ("telemetry_off", results.find("gateway", telemetry="off")),
        ("telemetry_on", results.find("gateway", telemetry="on")),
        ("baseline_uvloop", results.find("baseline", loop="uvloop")),
        ("baseline_httpx2", results.find("baseline", transport="httpx2")),
    ):
        if run is None or not run.windows:
            continue
        top = run.windows[-1]
        out[f"{key}_compositions_per_s"] = _r(rate(top), 1)
        out[f"{key}_cpu_ms_per_composition"] = _r(process_cpu_ms(run, top), 3)
        out[f"{key}_overhead_p50_ms"] = _r(overhead_ms(run, run.windows[0], 50))
    out["telemetry"] = "measured" if results.find("gateway", telemetry="on") else None
    return out
