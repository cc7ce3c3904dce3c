"""The performance issue's targets, against what a run measured.

Each target is a ratio to the bare baseline measured in the same run (the absolute figures
move 10–30 % between runs on a shared machine; the ratios much less), except the last, a
count: CPU per composition at saturation ≤ 1.5 × the baseline's; throughput of one process
≥ 0.65 × the baseline's; overhead at concurrency 1 ≤ 1.5 × the baseline's at p50 and ≤ 2 ×
at p99; memory per composition in flight ≤ 1.5 × the baseline's; every composition held in
flight answered in full.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

from bench._figures import (
    cpu_ms,
    overhead_ms,
    process_cpu_ms,
    rate,
    ratio,
    rounded,
    shown,
)
from bench._outcomes import summarise
from bench.suite import Results


class Bound(enum.StrEnum):
    AT_MOST = "<="
    AT_LEAST = ">="


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    measured: float
    """NaN when the run did not measure it."""
    limit: float
    bound: Bound
    detail: str
    """What the measured figure is made of, for people."""
    count: bool = False
    """A count (answered compositions), not a ratio to the baseline."""

    @property
    def met(self) -> bool | None:
        if math.isnan(self.measured):
            return None
        if self.bound is Bound.AT_MOST:
            return self.measured <= self.limit
        return self.measured >= self.limit

    @property
    def off_by(self) -> float:
        """How far from the target: a factor for ratios (> 1: missed by that much, ≤ 1:
        met with room), a difference for counts (> 0: short by that many)."""
        if self.count:
            return self.limit - self.measured
        if self.bound is Bound.AT_MOST:
            return ratio(self.measured, self.limit)
        return ratio(self.limit, self.measured)

    def verdict(self) -> str:
        met = self.met
        if met is None:
            return "not measured"
        if self.count:
            return "met" if met else f"missed by {self.off_by:.0f}"
        if met:
            return f"met ({1 / self.off_by:.2f}× to spare)" if self.off_by else "met"
        return f"missed: {self.off_by:.2f}× {'over' if self.bound is Bound.AT_MOST else 'short'}"

    def to_json(self) -> dict[str, Any]:
        return {
            "measured": rounded(self.measured),
            "target": self.limit,
            "bound": self.bound.value,
            "met": self.met,
            "off_by": rounded(self.off_by),
        }


def targets(results: Results) -> list[Target]:
    gw = results.find("gateway", loop="asyncio", telemetry="default")
    base = results.find("baseline", loop="asyncio", transport="aiohttp")
    if gw is None or base is None or not gw.windows:
        return []
    low, high = gw.windows[0], gw.windows[-1]
    base_low, base_high = base.window(low.concurrency), base.window(high.concurrency)
    found: list[Target] = []
    if base_high is not None:
        gw_cpu, base_cpu = process_cpu_ms(gw, high), cpu_ms(base_high, "process")
        found.append(
            Target(
                "cpu_per_composition",
                f"CPU per composition at {high.concurrency}",
                ratio(gw_cpu, base_cpu),
                1.5,
                Bound.AT_MOST,
                f"{shown(gw_cpu, 2)} vs {shown(base_cpu, 2)} ms",
            )
        )
        found.append(
            Target(
                "throughput",
                f"throughput at {high.concurrency}, one process",
                ratio(rate(high), rate(base_high)),
                0.65,
                Bound.AT_LEAST,
                f"{shown(rate(high), 0)} vs {shown(rate(base_high), 0)} per s",
            )
        )
    if base_low is not None:
        for q, limit in ((50, 1.5), (99, 2.0)):
            mine, theirs = overhead_ms(gw, low, q), overhead_ms(base, base_low, q)
            found.append(
                Target(
                    f"overhead_p{q}",
                    f"overhead p{q} at concurrency {low.concurrency}",
                    ratio(mine, theirs),
                    limit,
                    Bound.AT_MOST,
                    f"{shown(mine)} vs {shown(theirs)} ms",
                )
            )
    held, base_held = results.find("gateway", "memory"), results.find("baseline", "memory")
    if held and held.memory and base_held and base_held.memory:
        mine_kb, theirs_kb = held.memory.kb_per_inflight, base_held.memory.kb_per_inflight
        found.append(
            Target(
                "kb_per_inflight",
                "memory per composition in flight",
                ratio(mine_kb, theirs_kb),
                1.5,
                Bound.AT_MOST,
                f"{mine_kb:.0f} vs {theirs_kb:.0f} KB",
            )
        )
    if held and held.memory:
        m = held.memory
        why = summarise(m.failures)
        found.append(
            Target(
                "inflight_answered",
                f"all {m.compositions} in flight answered in full",
                float(m.succeeded),
                float(m.compositions),
                Bound.AT_LEAST,
                f"{m.succeeded} of {m.compositions}" + (f": {why}" if why else ""),
                count=True,
            )
        )
    return found


def targets_block(found: list[Target]) -> list[str]:
    lines = ["targets (the performance issue's; ratios are to the baseline in this run):"]
    for t in found:
        measured = f"{t.measured:.0f}" if t.count else f"×{shown(t.measured, 2)}"
        limit = f"{t.limit:.0f}" if t.count else f"×{t.limit:g}"
        lines.append(
            f"  {t.label:42} {measured:>7} ({t.detail}); target {t.bound.value} {limit}: "
            f"{t.verdict()}"
        )
    if not found:
        lines.append("  none: the reference rows did not run")
    return lines
