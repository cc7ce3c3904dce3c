"""The command line as a person runs it."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_once_json_prints_four_identical_complete_solutions() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--once", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    solutions = [p for p in printed if "fingerprint" in p]
    orders = [p for p in printed if "order_id" in p]
    assert [s["entry"] for s in solutions] == ["roaming", "flight", "insurance", "car"]
    assert len({s["fingerprint"] for s in solutions}) == 1
    for solution in solutions:
        assert [c["kind"] for c in solution["components"]] == [
            "connectivity",
            "flight",
            "insurance",
            "car",
        ]
        assert all(c["status"] == "ok" for c in solution["components"])
        for c in solution["components"]:
            assert set(c["price"]) == {"currency_code", "units", "nanos"}
        assert solution["totals"]
    assert len(orders) == 1
    order = orders[0]
    assert order["solution_id"] == solutions[0]["solution_id"]
    assert order["state"] == "confirmed"
    assert [c["state"] for c in order["components"]] == ["confirmed"] * 4
    assert all(c["reference"] for c in order["components"])


def test_sandbox_knobs_are_settable_at_start() -> None:
    from gateway.cli.commands import parse_knobs

    assert parse_knobs(
        ["airline-a.latency_ms=500", "airline-a.outage=true", "car-b.error_rate=0.5"]
    ) == {
        "airline-a": {"latency_ms": 500, "outage": True},
        "car-b": {"error_rate": 0.5},
    }
