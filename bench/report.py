"""The benchmark's table, and its headline figures as one JSON object."""

from __future__ import annotations

import os
from typing import Any

from bench._closed_loop import Window
from bench._figures import (
    NAN,
    cpu_ms,
    overhead_ms,
    own_clock,
    process_cpu_ms,
    rate,
    ratio,
    rounded,
    shown,
)
from bench._outcomes import summarise
from bench._provenance import commit, now
from bench._targets import targets, targets_block
from bench.suite import Results, Run

_HEADER = (
    f"{'variant':28} {'conc':>4} {'calls':>6} {'s':>5} {'comp/s':>7} {'×base':>6} "
    f"{'ovh p50':>8} {'p90':>6} {'p99':>6} {'CPU ms':>7} {'×base':>6} {'CPU %':>6} "
    f"{'host %':>6} {'stub ms':>7} {'load ms':>7} {'failed':>6}"
)
_CORES = os.cpu_count() or 1


def host_pct(w: Window) -> float:
    """How busy the whole machine was in the window, in % of all its cores."""
    if "host" not in w.cpu_s or not w.seconds:
        return NAN
    return w.cpu_s["host"] / w.seconds / _CORES * 100


def _line(run: Run, w: Window, base: Window | None) -> str:
    own_cpu = process_cpu_ms(run, w)
    clock = own_clock(run)
    seconds = f"{w.seconds:.1f}{'*' if w.capped else ''}"
    return (
        f"{run.name:28} {w.concurrency:>4} {w.completed:>6} {seconds:>5} {rate(w):>7.0f} "
        f"{shown(ratio(rate(w), rate(base)) if base else NAN, 2):>6} "
        f"{shown(overhead_ms(run, w, 50)):>8} {shown(overhead_ms(run, w, 90)):>6} "
        f"{shown(overhead_ms(run, w, 99)):>6} {shown(own_cpu, 2):>7} "
        f"{shown(ratio(own_cpu, cpu_ms(base, 'process')) if base else NAN, 2):>6} "
        f"{shown(w.cpu_s[clock] / w.seconds * 100 if w.seconds else NAN, 0):>6} "
        f"{shown(host_pct(w), 0):>6} {shown(cpu_ms(w, 'stubs'), 2):>7} "
        f"{shown(cpu_ms(w, 'client'), 2):>7} {w.failed:>6}"
    )


def _compare(label: str, a: Run | None, b: Run | None, concurrency: int) -> str | None:
    """`a` against `b` at one concurrency: throughput, CPU and overhead p50."""
    wa, wb = (a.window(concurrency) if a else None), (b.window(concurrency) if b else None)
    if a is None or b is None or wa is None or wb is None:
        return None
    return (
        f"{label} at concurrency {concurrency}: throughput ×{shown(ratio(rate(wa), rate(wb)), 2)}"
        f" ({shown(rate(wa), 0)} vs {shown(rate(wb), 0)} per s), CPU per composition "
        f"×{shown(ratio(process_cpu_ms(a, wa), process_cpu_ms(b, wb)), 2)}, overhead p50 "
        f"{shown(overhead_ms(a, wa, 50))} vs {shown(overhead_ms(b, wb, 50))} ms"
    )


def _reference(results: Results) -> tuple[Run | None, Run | None]:
    return (
        results.find("gateway", loop="asyncio", telemetry="default"),
        results.find("baseline", loop="asyncio", transport="aiohttp"),
    )


def table(results: Results) -> str:
    o = results.options
    gw, base = _reference(results)
    slowest = results.runs[0].slowest_ms if results.runs else NAN
    rule, variant = o.rule, o.variant_rule
    lines = [
        "Composition benchmark: the gateway over gRPC against a bare scatter-gather, six "
        f"partner stubs on loopback (slowest partner {slowest:g} ms; token TTL "
        f"{o.token_ttl_s} s). A row's window closes after max({rule.min_calls}, "
        f"{rule.calls_per_worker} × concurrency) calls (variant rows: max({variant.min_calls}, "
        f"{variant.calls_per_worker} × concurrency)) and at least {rule.min_s:g} s, or at "
        f"{rule.cap_s:g} s (* = capped); warm-up until `concurrency` calls, at least "
        f"{rule.warmup_min_s:g} s.",
        "",
        _HEADER,
    ]
    for run in results.runs:
        for w in run.windows:
            lines.append(_line(run, w, base.window(w.concurrency) if base else None))
    lines += [
        "",
        "calls = calls ended in the window; s = its length; ovh = end-to-end latency − the "
        "slowest partner's latency, ms (p50, p90, p99); ×base = ratio to 'baseline' (aiohttp "
        "transport, asyncio) at the same concurrency; CPU ms = CPU of the measured process per "
        "composition (a gateway with workers: the parent and every worker); CPU % = of one "
        f"core; host % = the whole machine's CPU, of all {_CORES} cores (others' work "
        "included); stub / load ms = CPU per composition of the partner stubs and of the gRPC load "
        "generator.",
        "",
    ]
    lines += _failures(results)
    lines += _memory(results)
    for run in results.runs:
        if run.tokens:
            t = run.tokens
            per = f" × {run.workers} workers" if run.workers > 1 else ""
            lines.append(
                f"tokens, {run.name}: {t.fetches} fetched, {t.expected} expected (6 partners × "
                f"lifetimes of {t.lifetime_s:g} s begun in {t.active_s:.0f} s{per}), "
                f"{t.refused} calls refused for their token"
            )
    lines += _comparisons(results, gw, base)
    lines += [f"{run.name}: {run.detail}" for run in results.runs if run.detail]
    lines += _records(results, gw)
    lines += _bookings(results)
    lines += [f"note: {n}" for n in results.notes]
    lines += ["", *targets_block(targets(results))]
    lines.append(f"run took {results.seconds:.0f} s")
    return "\n".join(lines)


def _failures(results: Results) -> list[str]:
    return [
        f"failed, {run.name} at concurrency {w.concurrency}: {summarise(w.failures)}"
        for run in results.runs
        for w in run.windows
        if w.failures
    ]


def _memory(results: Results) -> list[str]:
    lines = []
    for run in results.runs:
        if run.memory:
            m = run.memory
            expected = m.compositions * 6
            reached = (
                ""
                if m.partner_calls_seen >= expected
                else f", only {m.partner_calls_seen} of {expected} partner calls reached the stubs"
            )
            lines.append(
                f"memory, {run.name}: {m.compositions} compositions in flight "
                f"({m.partner_calls_seen} partner calls waiting at the stubs, reached in "
                f"{m.ramp_s:.1f} s{reached}): RSS {m.rss_idle_bytes / 2**20:.1f} → "
                f"{m.rss_peak_bytes / 2**20:.1f} MiB = {m.kb_per_inflight:.1f} KB per "
                f"composition; {m.succeeded} of {m.compositions} answered in full"
                + (f"; the others: {summarise(m.failures)}" if m.failures else "")
            )
    return lines


def _comparisons(results: Results, gw: Run | None, base: Run | None) -> list[str]:
    levels = results.options.levels
    top, low = max(levels), min(levels)
    off = results.find("gateway", telemetry="off")
    on = results.find("gateway", telemetry="on")
    auth_off = results.find("gateway", auth=False)
    uvloop_gw = results.find("gateway", loop="uvloop")
    uvloop_base = results.find("baseline", loop="uvloop")
    workers_1 = results.find("gateway", workers=1, channels=results.options.worker_channels)
    workers_2 = results.find("gateway", workers=2, channels=results.options.worker_channels)
    comparisons = [
        _compare("auth off vs on", auth_off, gw, low),
        _compare("auth off vs on", auth_off, gw, top),
        _compare("serve --workers 2 vs 1", workers_2, workers_1, top),
        _compare("uvloop, gateway", uvloop_gw, gw, top),
        _compare("uvloop, baseline", uvloop_base, base, top),
        _compare("uvloop gateway vs uvloop baseline", uvloop_gw, uvloop_base, top),
        _compare(
            "HTTP client, httpx2's own transport vs aiohttp transport (baseline)",
            results.find("baseline", transport="httpx2"),
            base,
            top,
        ),
        _compare("telemetry on vs off", on, off, top),
        _compare("telemetry on vs off", on, off, low),
        _compare("telemetry default (nothing exported, spans not recorded) vs off", gw, off, top),
    ]
    return [c for c in comparisons if c]


_NO_SWITCH = (
    "consent and audit: no rows without them, by design: the gateway has no switch for "
    "either (a request without consent asks no partner at all; a composition's audit records "
    "are written in the transaction that saves its solution)"
)


def _records(results: Results, gw: Run | None) -> list[str]:
    if not results.records:
        return [_NO_SWITCH]
    rows = results.records["rows"]
    gw_cpu = process_cpu_ms(gw, gw.windows[-1]) if gw and gw.windows else NAN
    lines = [
        f"{_NO_SWITCH}. What they cost on the store instead (bench.record_costs, SQLite, "
        f"{rows[0]['count']} writes each; against the gateway's {shown(gw_cpu, 2)} ms of CPU per "
        "composition at saturation):"
    ]
    for r in rows:
        records = r["audit_records_per_composition"]
        lines.append(
            f"  {r['concurrency']:>2} at once: recording a consent (record + audit row) "
            f"{r['consent_cpu_ms']:.2f} ms CPU; a composition's {records} audit records, "
            f"built and written with its solution: +{r['audit_cpu_ms']:.2f} ms "
            f"({r['solution_cpu_ms']:.2f} → {r['solution_audited_cpu_ms']:.2f} ms per save)"
        )
    return lines


_BOOKING_ROWS = (("sqlite", "SQLite"), ("postgresql", "PostgreSQL"), ("postgresql x2", "PG ×2"))


def _bookings(results: Results) -> list[str]:
    b = results.bookings
    if not b:
        return []
    o = results.options
    lines = [
        f"bookings (bench.bookings: {o.bookings} bookings at concurrency {b['concurrency']}, "
        "sandbox partners, each gateway its own process):",
        f"  {'store':12} {'replicas':>8} {'confirmed':>9} {'per s':>7} {'CPU ms/booking':>14} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'host CPU':>8}",
    ]
    for key, label in _BOOKING_ROWS:
        if key in b:
            r = b[key]
            lines.append(
                f"  {label:12} {r['replicas']:>8} {r['confirmed']:>4} of {r['bookings']:<2} "
                f"{r['bookings_per_s']:>7} {r['cpu_ms_per_booking']:>14} {r['p50_ms']:>8} "
                f"{r['p99_ms']:>8} {r['host_cpu_busy_pct']:>7}%"
            )
    sqlite, pg = b.get("sqlite"), b.get("postgresql")
    if sqlite and pg:
        lines.append(
            "  CPU per booking, PostgreSQL vs SQLite: "
            f"×{shown(ratio(pg['cpu_ms_per_booking'], sqlite['cpu_ms_per_booking']), 2)}; "
            f"throughput, 2 replicas vs 1 (PostgreSQL): ×{b.get('two_replicas_speedup', '—')}"
        )
    return lines


def summary(results: Results) -> dict[str, Any]:
    """Headline figures of the reference gateway run against the reference baseline, each
    other row's own, the targets, and which code was measured when.

    Overhead is quoted at the lowest concurrency (meant to be below saturation); throughput
    and CPU at the highest, where both sides are CPU-bound.
    """
    gw, base = _reference(results)
    gw = gw or results.runs[0]
    low, high = gw.windows[0], gw.windows[-1]
    base_low = base.window(low.concurrency) if base else None
    base_high = base.window(high.concurrency) if base else None
    gw_held, base_held = results.find("gateway", "memory"), results.find("baseline", "memory")
    out: dict[str, Any] = {
        "commit": commit(),
        "date": now(),
        "overhead_p50_ms": rounded(overhead_ms(gw, low, 50)),
        "overhead_p90_ms": rounded(overhead_ms(gw, low, 90)),
        "overhead_p99_ms": rounded(overhead_ms(gw, low, 99)),
        "overhead_concurrency": low.concurrency,
        "overhead_calls": len(low.latencies_s),
        "throughput_ratio_vs_baseline": rounded(ratio(rate(high), rate(base_high)))
        if base_high
        else None,
        "throughput_concurrency": high.concurrency,
        "cpu_ms_per_composition": rounded(process_cpu_ms(gw, high), 3),
        "cpu_ratio_vs_baseline": rounded(
            ratio(process_cpu_ms(gw, high), cpu_ms(base_high, "process"))
        )
        if base_high
        else None,
        "kb_per_inflight": rounded(gw_held.memory.kb_per_inflight, 1)
        if gw_held and gw_held.memory
        else None,
        "inflight_compositions": gw_held.memory.compositions
        if gw_held and gw_held.memory
        else None,
        "inflight_answered": gw_held.memory.succeeded if gw_held and gw_held.memory else None,
        "inflight_failures": summarise(gw_held.memory.failures)
        if gw_held and gw_held.memory
        else None,
        "token_fetches": gw.tokens.fetches if gw.tokens else None,
        "token_fetches_expected": gw.tokens.expected if gw.tokens else None,
        "failed": sum(w.failed for w in gw.windows),
        "capped_windows": [
            f"{run.name}@{w.concurrency}" for run in results.runs for w in run.windows if w.capped
        ],
        "overhead_p50_ms_by_concurrency": {
            str(w.concurrency): rounded(overhead_ms(gw, w, 50)) for w in gw.windows
        },
        "compositions_per_s": {str(w.concurrency): rounded(rate(w), 1) for w in gw.windows},
    }
    if base and base_low:
        base_p50, base_p99 = overhead_ms(base, base_low, 50), overhead_ms(base, base_low, 99)
        out["baseline_overhead_p50_ms"] = rounded(base_p50)
        out["baseline_overhead_p99_ms"] = rounded(base_p99)
        out["overhead_p50_ratio_vs_baseline"] = rounded(ratio(overhead_ms(gw, low, 50), base_p50))
        out["overhead_p99_ratio_vs_baseline"] = rounded(ratio(overhead_ms(gw, low, 99), base_p99))
        out["baseline_compositions_per_s"] = {
            str(w.concurrency): rounded(rate(w), 1) for w in base.windows
        }
        out["baseline_cpu_ms_per_composition"] = rounded(cpu_ms(base.windows[-1], "process"), 3)
    if base_held and base_held.memory:
        out["baseline_kb_per_inflight"] = rounded(base_held.memory.kb_per_inflight, 1)
        out["baseline_inflight_answered"] = base_held.memory.succeeded
        if gw_held and gw_held.memory:
            out["kb_per_inflight_ratio_vs_baseline"] = rounded(
                ratio(gw_held.memory.kb_per_inflight, base_held.memory.kb_per_inflight)
            )
    out |= _variant_figures(results, gw)
    out |= _workers_figures(results)
    out |= _bookings_figures(results)
    out |= _records_figures(results)
    out["targets"] = {t.key: t.to_json() for t in targets(results)}
    return out


def _variant_figures(results: Results, gw: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, run in (
        ("auth_off", results.find("gateway", auth=False)),
        ("uvloop", results.find("gateway", loop="uvloop")),
        ("telemetry_off", results.find("gateway", telemetry="off")),
        ("telemetry_on", results.find("gateway", telemetry="on")),
        ("baseline_uvloop", results.find("baseline", loop="uvloop")),
        ("baseline_httpx2", results.find("baseline", transport="httpx2")),
    ):
        if run is None or not run.windows:
            continue
        top, low = run.windows[-1], run.windows[0]
        out[f"{key}_compositions_per_s"] = rounded(rate(top), 1)
        out[f"{key}_cpu_ms_per_composition"] = rounded(process_cpu_ms(run, top), 3)
        out[f"{key}_overhead_p50_ms"] = rounded(overhead_ms(run, low, 50))
        out[f"{key}_overhead_p99_ms"] = rounded(overhead_ms(run, low, 99))
        if run.kind == "gateway" and (ref := gw.window(top.concurrency)) is not None:
            out[f"{key}_throughput_ratio_vs_gateway"] = rounded(ratio(rate(top), rate(ref)))
            out[f"{key}_cpu_ratio_vs_gateway"] = rounded(
                ratio(process_cpu_ms(run, top), process_cpu_ms(gw, ref))
            )
    out["telemetry"] = "measured" if results.find("gateway", telemetry="on") else None
    return out


def _workers_figures(results: Results) -> dict[str, Any]:
    channels = results.options.worker_channels
    one = results.find("gateway", workers=1, channels=channels)
    two = results.find("gateway", workers=2, channels=channels)
    if not (one and two and one.windows and two.windows):
        return {}
    w1, w2 = one.windows[-1], two.windows[-1]
    return {
        "workers_concurrency": w1.concurrency,
        "workers1_compositions_per_s": rounded(rate(w1), 1),
        "workers2_compositions_per_s": rounded(rate(w2), 1),
        "workers2_vs_1_throughput_ratio": rounded(ratio(rate(w2), rate(w1))),
        "workers1_cpu_ms_per_composition": rounded(process_cpu_ms(one, w1), 3),
        "workers2_cpu_ms_per_composition": rounded(process_cpu_ms(two, w2), 3),
    }


def _bookings_figures(results: Results) -> dict[str, Any]:
    b = results.bookings
    if not b:
        return {}
    out: dict[str, Any] = {"bookings_concurrency": b["concurrency"]}
    for key, name in (("sqlite", "sqlite"), ("postgresql", "postgresql"), ("postgresql x2", "x2")):
        if key in b:
            out[f"bookings_{name}_cpu_ms_per_booking"] = b[key]["cpu_ms_per_booking"]
            out[f"bookings_{name}_per_s"] = b[key]["bookings_per_s"]
            out[f"bookings_{name}_confirmed"] = b[key]["confirmed"]
    out["bookings_count"] = next(iter(v["bookings"] for v in b.values() if isinstance(v, dict)))
    if "sqlite" in b and "postgresql" in b:
        out["bookings_cpu_ratio_postgresql_vs_sqlite"] = rounded(
            ratio(b["postgresql"]["cpu_ms_per_booking"], b["sqlite"]["cpu_ms_per_booking"])
        )
    out["bookings_replicas_2_vs_1_throughput_ratio"] = b.get("two_replicas_speedup")
    return out


def _records_figures(results: Results) -> dict[str, Any]:
    if not results.records:
        return {}
    rows = {str(r["concurrency"]): r for r in results.records["rows"]}
    return {
        "store_consent_cpu_ms": {c: r["consent_cpu_ms"] for c, r in rows.items()},
        "store_audit_cpu_ms": {c: r["audit_cpu_ms"] for c, r in rows.items()},
    }
