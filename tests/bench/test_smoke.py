"""`python -m bench` end to end at tiny sizes: it runs, and its last line has the headline
keys. Timings are the benchmark's business, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEADLINE_KEYS = {
    "overhead_p50_ms",
    "overhead_p99_ms",
    "throughput_ratio_vs_baseline",
    "cpu_ms_per_composition",
    "kb_per_inflight",
    "token_fetches",
}


@pytest.mark.slow
def test_bench_prints_a_table_and_the_json_line_last() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--levels",
            "2",
            "--measure",
            "0.5",
            "--warmup",
            "0.2",
            "--inflight",
            "10",
            "--inflight-hold",
            "5",
            "--no-variants",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.strip().splitlines()
    assert any(line.startswith("gateway ") for line in lines)
    assert any(line.startswith("baseline ") for line in lines)
    headline = json.loads(lines[-1])
    assert headline.keys() >= HEADLINE_KEYS
    assert headline["failed"] == 0
    assert headline["token_fetches"] == headline["token_fetches_expected"]
    assert all(headline[key] is not None for key in HEADLINE_KEYS)
