"""The command line as a person runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_once_json_prints_four_identical_plans_around_the_held_flight(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--once", "--json"],
        cwd=tmp_path,  # the demo keeps its store under ./state/demo
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    solutions = [p for p in printed if "fingerprint" in p]
    orders = [p for p in printed if "order_id" in p and "components" in p]
    kpis = {p["entry_partner"]: p for p in printed if "take_up" in p}
    assert [s["entry"] for s in solutions] == ["roaming", "flight", "insurance", "car"]
    assert len({s["fingerprint"] for s in solutions}) == 1
    # The telecom's customer reads Chinese: the same plan, in other words.
    assert [s["language_code"] for s in solutions] == ["zh-CN", "en", "en", "en"]
    assert solutions[0]["components"][0]["title"] != solutions[1]["components"][0]["title"]
    for solution in solutions:
        assert [c["kind"] for c in solution["components"]] == [
            "connectivity",
            "flight",
            "insurance",
            "car",
        ]
        statuses = {c["kind"]: c["status"] for c in solution["components"]}
        # The customer bought the flight at airline-a before: held, never sold again.
        assert statuses == {
            "connectivity": "ok",
            "flight": "held",
            "insurance": "ok",
            "car": "ok",
        }
        flight = solution["components"][1]
        assert flight["partner"] == "airline-a"
        assert flight["reference"]
        assert flight["price"] is None
        for c in solution["components"]:
            if c["status"] == "ok":
                assert set(c["price"]) == {"currency_code", "units", "nanos"}
            assert c["reason"]
            assert c["reason_code"]
        assert solution["totals"]
    assert len(orders) == 1
    order = orders[0]
    assert order["solution_id"] == solutions[0]["solution_id"]
    assert order["state"] == "confirmed"
    # Only what the customer did not hold yet is booked.
    assert [c["kind"] for c in order["components"]] == ["connectivity", "insurance", "car"]
    assert [c["state"] for c in order["components"]] == ["confirmed"] * 3
    assert all(c["reference"] for c in order["components"])
    # The customer's 9 makes the booking entry partner's NPS +100 and its take-up 1 of 1.
    assert kpis["telecom-cn"]["booked"] == 1
    assert kpis["telecom-cn"]["take_up"] == 1.0
    assert kpis["telecom-cn"]["nps"] == 100.0
    assert kpis["airline-a"]["offered"] == 1


def test_sandbox_knobs_are_settable_at_start() -> None:
    from gateway.cli.commands import parse_knobs

    assert parse_knobs(
        ["airline-a.latency_ms=500", "airline-a.outage=true", "car-b.error_rate=0.5"]
    ) == {
        "airline-a": {"latency_ms": 500, "outage": True},
        "car-b": {"error_rate": 0.5},
    }


def test_kpis_local_reads_the_demo_store(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--once"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=True,
    )
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "kpis", "--local", "--state-dir", "state/demo", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = {r["entry_partner"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(rows) == {"telecom-cn", "airline-a", "insurer-a", "car-a"}
    assert rows["telecom-cn"]["nps"] == 100.0
