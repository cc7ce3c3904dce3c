"""`python -m bench.bookings` end to end at a tiny size: one and two replicas on PostgreSQL
besides SQLite, every booking confirmed, and the JSON line last. Timings are the
benchmark's business, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_the_booking_bench_compares_one_and_two_replicas(postgres_dsn: str) -> None:
    command = [sys.executable, "-m", "bench.bookings", "--orders", "4", "--concurrency", "2"]
    completed = subprocess.run(
        [*command, "--dsn", postgres_dsn],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    for row, replicas in (("sqlite", 1), ("postgresql", 1), ("postgresql x2", 2)):
        assert result[row]["replicas"] == replicas
        assert result[row]["confirmed"] == 4
        assert result[row]["cpu_ms_per_booking"] > 0
    assert result["two_replicas_speedup"] > 0
