"""The table, the targets and the JSON line, from results made up here: every figure is
known in advance, so each can be checked."""

from __future__ import annotations

import json

import pytest

from bench._closed_loop import Window
from bench._inflight import InflightMemory
from bench._targets import Bound, Target, targets
from bench.report import summary, table
from bench.suite import Options, Results, Run

SLOWEST_MS = 100.0


def _window(concurrency: int, *, per_s: float, cpu_ms: float, overhead_ms: float) -> Window:
    """A 10 s window: `per_s` compositions a second, each `cpu_ms` of CPU, every latency
    `overhead_ms` above the slowest partner."""
    completed = int(per_s * 10)
    return Window(
        concurrency=concurrency,
        seconds=10.0,
        completed=completed,
        failed=0,
        latencies_s=[(SLOWEST_MS + overhead_ms) / 1000] * completed,
        cpu_s={"gateway": completed * cpu_ms / 1000, "process": completed * cpu_ms / 1000},
        target_calls=completed,
    )


def _memory(kb: float, answered: int, failures: dict[str, int] | None = None) -> InflightMemory:
    return InflightMemory(
        compositions=1000,
        partner_calls_seen=6000,
        rss_idle_bytes=100 * 2**20,
        rss_peak_bytes=100 * 2**20 + int(kb * 1024 * 1000),
        succeeded=answered,
        ramp_s=5.0,
        failures=failures or {},
    )


def _results() -> Results:
    options = Options(levels=(1, 256), worker_channels=16)
    results = Results(options, seconds=100.0)
    gateway = Run("gateway", "gateway", "asyncio", slowest_ms=SLOWEST_MS)
    gateway.windows = [
        _window(1, per_s=9, cpu_ms=12, overhead_ms=10),
        _window(256, per_s=100, cpu_ms=10, overhead_ms=2000),
    ]
    baseline = Run("baseline", "baseline", "asyncio", slowest_ms=SLOWEST_MS)
    baseline.windows = [
        _window(1, per_s=10, cpu_ms=4, overhead_ms=2.5),
        _window(256, per_s=400, cpu_ms=2.5, overhead_ms=500),
    ]
    held = Run("gateway, in flight", "gateway", "asyncio", purpose="memory")
    held.memory = _memory(300, 988, {"DEADLINE_EXCEEDED": 9, "partner airline-a timeout": 3})
    base_held = Run("baseline, in flight", "baseline", "asyncio", purpose="memory")
    base_held.memory = _memory(150, 1000)
    auth_off = Run("gateway, auth off", "gateway", "asyncio", auth=False, slowest_ms=SLOWEST_MS)
    auth_off.windows = [
        _window(1, per_s=9, cpu_ms=11.5, overhead_ms=9.5),
        _window(256, per_s=105, cpu_ms=9.5, overhead_ms=1900),
    ]
    one = Run("gateway, workers 1", "gateway", "asyncio", channels=16, slowest_ms=SLOWEST_MS)
    one.windows = [_window(256, per_s=100, cpu_ms=10, overhead_ms=2000)]
    two = Run(
        "gateway, workers 2", "gateway", "asyncio", workers=2, channels=16, slowest_ms=SLOWEST_MS
    )
    two.windows = [_window(256, per_s=170, cpu_ms=10.5, overhead_ms=1400)]
    results.runs = [gateway, baseline, held, base_held, auth_off, one, two]
    row = {"replicas": 1, "bookings": 24, "confirmed": 24, "p50_ms": 250.0, "p99_ms": 340.0}
    results.bookings = {
        "concurrency": 8,
        "sqlite": {
            **row,
            "bookings_per_s": 27.0,
            "cpu_ms_per_booking": 25.0,
            "host_cpu_busy_pct": 40,
        },
        "postgresql": {
            **row,
            "bookings_per_s": 14.0,
            "cpu_ms_per_booking": 40.0,
            "host_cpu_busy_pct": 90,
        },
        "postgresql x2": {
            **row,
            "replicas": 2,
            "bookings_per_s": 21.0,
            "cpu_ms_per_booking": 45.0,
            "host_cpu_busy_pct": 95,
        },
        "two_replicas_speedup": 1.5,
    }
    results.records = {
        "store": "sqlite",
        "rows": [
            {
                "concurrency": c,
                "count": 300,
                "audit_records_per_composition": 7,
                "solution_cpu_ms": 0.4,
                "solution_audited_cpu_ms": 0.6,
                "audit_cpu_ms": 0.2,
                "consent_cpu_ms": 0.3,
            }
            for c in (1, 16)
        ],
    }
    return results


def test_the_json_line_carries_every_headline_figure() -> None:
    out = summary(_results())
    json.dumps(out)  # one JSON line
    assert out["cpu_ms_per_composition"] == 10.0
    assert out["baseline_cpu_ms_per_composition"] == 2.5
    assert out["cpu_ratio_vs_baseline"] == 4.0
    assert out["throughput_ratio_vs_baseline"] == 0.25
    assert out["overhead_p50_ms"] == pytest.approx(10, abs=0.01)
    assert out["baseline_overhead_p50_ms"] == pytest.approx(2.5, abs=0.01)
    assert out["overhead_p50_ratio_vs_baseline"] == 4.0
    assert out["overhead_p99_ratio_vs_baseline"] == 4.0
    assert out["kb_per_inflight"] == 300.0
    assert out["kb_per_inflight_ratio_vs_baseline"] == 2.0
    assert out["inflight_answered"] == 988
    assert out["inflight_failures"] == "9 DEADLINE_EXCEEDED, 3 partner airline-a timeout"
    assert out["auth_off_cpu_ms_per_composition"] == 9.5
    assert out["auth_off_cpu_ratio_vs_gateway"] == 0.95
    assert out["workers2_vs_1_throughput_ratio"] == 1.7
    assert out["bookings_sqlite_cpu_ms_per_booking"] == 25.0
    assert out["bookings_postgresql_cpu_ms_per_booking"] == 40.0
    assert out["bookings_cpu_ratio_postgresql_vs_sqlite"] == 1.6
    assert out["bookings_replicas_2_vs_1_throughput_ratio"] == 1.5
    assert out["store_audit_cpu_ms"] == {"1": 0.2, "16": 0.2}
    assert out["commit"]
    assert out["date"]


def test_each_target_says_by_how_much_it_is_met_or_missed() -> None:
    found = {t.key: t for t in targets(_results())}
    assert found["cpu_per_composition"].measured == 4.0
    assert found["cpu_per_composition"].verdict() == "missed: 2.67× over"
    assert found["throughput"].verdict() == "missed: 2.60× short"
    assert found["overhead_p99"].verdict() == "missed: 2.00× over"
    assert found["kb_per_inflight"].verdict() == "missed: 1.33× over"
    assert found["inflight_answered"].verdict() == "missed by 12"
    assert "9 DEADLINE_EXCEEDED" in found["inflight_answered"].detail
    assert summary(_results())["targets"]["throughput"] == {
        "measured": 0.25,
        "target": 0.65,
        "bound": ">=",
        "met": False,
        "off_by": 2.6,
    }


def test_a_target_met_says_how_much_room_is_left() -> None:
    met = Target("x", "x", 1.0, 1.5, Bound.AT_MOST, "")
    assert met.met
    assert met.verdict() == "met (1.50× to spare)"
    assert Target("y", "y", 1000, 1000, Bound.AT_LEAST, "", count=True).verdict() == "met"


def test_the_table_shows_the_new_rows_and_why_compositions_failed() -> None:
    text = table(_results())
    assert "serve --workers 2 vs 1 at concurrency 256: throughput ×1.70" in text
    assert "auth off vs on at concurrency 256" in text
    assert "988 of 1000 answered in full; the others: 9 DEADLINE_EXCEEDED" in text
    assert "CPU per booking, PostgreSQL vs SQLite: ×1.60" in text
    assert "consent and audit: no rows without them, by design" in text
    assert "+0.20 ms (0.40 → 0.60 ms per save)" in text
    assert "targets (" in text
