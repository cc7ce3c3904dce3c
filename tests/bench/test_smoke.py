"""`python -m bench` end to end at tiny sizes, in two halves: it runs, its table has the rows,
and its last line has the headline keys. Timings are the benchmark's business, never
asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

HEADLINE_KEYS = {
    "commit",
    "date",
    "overhead_p50_ms",
    "overhead_p99_ms",
    "baseline_overhead_p50_ms",
    "baseline_overhead_p99_ms",
    "overhead_p50_ratio_vs_baseline",
    "overhead_p99_ratio_vs_baseline",
    "throughput_ratio_vs_baseline",
    "cpu_ms_per_composition",
    "baseline_cpu_ms_per_composition",
    "cpu_ratio_vs_baseline",
    "token_fetches",
}
MEMORY_KEYS = {"kb_per_inflight", "baseline_kb_per_inflight", "kb_per_inflight_ratio_vs_baseline"}
TARGETS = {
    "cpu_per_composition",
    "throughput",
    "overhead_p50",
    "overhead_p99",
    "kb_per_inflight",
    "inflight_answered",
}
# Tiny sizes: one concurrency, windows of a few calls.
TINY = [
    *("--levels", "2", "--calls", "6", "--calls-per-worker", "1"),
    *("--variant-calls", "4", "--variant-calls-per-worker", "1"),
    *("--min-window", "0.3", "--max-window", "5", "--min-warmup", "0.2"),
]


def _bench(*args: str) -> tuple[list[str], dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench", *TINY, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.strip().splitlines()
    headline: dict[str, Any] = json.loads(lines[-1])
    return lines, headline


@pytest.mark.slow
def test_the_reference_rows_memory_records_and_bookings() -> None:
    lines, headline = _bench(
        *("--inflight", "10", "--inflight-hold", "5"),
        *("--bookings", "1", "--bookings-concurrency", "1", "--bookings-dsn", ""),
        *("--record-count", "10"),
        *("--skip", "auth-off,workers,variants"),
    )
    assert any(line.startswith("gateway ") for line in lines)
    assert any(line.startswith("baseline ") for line in lines)
    assert any(line.startswith("targets (") for line in lines)
    assert headline.keys() >= HEADLINE_KEYS | MEMORY_KEYS
    assert all(headline[key] is not None for key in HEADLINE_KEYS | MEMORY_KEYS)
    assert headline["failed"] == 0
    assert headline["token_fetches"] == headline["token_fetches_expected"]
    assert headline["inflight_answered"] == headline["inflight_compositions"] == 10
    assert headline["bookings_sqlite_confirmed"] == 1
    assert "store_audit_cpu_ms" in headline
    assert set(headline["targets"]) == TARGETS


@pytest.mark.slow
def test_the_rows_without_authentication_and_with_two_workers() -> None:
    lines, headline = _bench(
        *("--worker-channels", "4"),
        *("--skip", "memory,variants,records,bookings"),
    )
    for row in ("gateway, auth off", "gateway, workers 1", "gateway, workers 2"):
        assert any(line.startswith(row) for line in lines), row
    assert not any(line.startswith("failed, ") for line in lines), "\n".join(lines)
    assert any(line.startswith("serve --workers 2 vs 1 at concurrency 2") for line in lines)
    tokens = next(line for line in lines if line.startswith("tokens, gateway, workers 2:"))
    assert "12 fetched, 12 expected" in tokens  # each worker fetches its own
    for key in ("auth_off_cpu_ms_per_composition", "workers2_vs_1_throughput_ratio"):
        assert headline[key] is not None, key
