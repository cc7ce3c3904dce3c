"""The figures read off a window or a run: rates, CPU and overhead per composition, ratios."""

from __future__ import annotations

import math

from bench._closed_loop import Window, percentile
from bench.suite import Run

NAN = float("nan")


def rate(w: Window) -> float:
    return w.completed / w.seconds if w.seconds else NAN


def cpu_ms(w: Window, clock: str) -> float:
    return w.cpu_s[clock] / w.completed * 1000 if w.completed and clock in w.cpu_s else NAN


def own_clock(run: Run) -> str:
    """The measured process's clock: the gateway's (with its workers), or the baseline's."""
    return "gateway" if run.kind == "gateway" else "process"


def process_cpu_ms(run: Run, w: Window) -> float:
    """CPU per composition of the measured process: the gateway's, or the baseline's."""
    return cpu_ms(w, own_clock(run))


def overhead_ms(run: Run, w: Window, q: float) -> float:
    return percentile(w.latencies_s, q) * 1000 - run.slowest_ms


def ratio(a: float, b: float) -> float:
    return a / b if b and not (math.isnan(a) or math.isnan(b)) else NAN


def rounded(value: float, digits: int = 2) -> float | None:
    """For JSON: NaN (nothing measured) becomes null."""
    return None if math.isnan(value) else round(value, digits)


def shown(value: float, digits: int = 1) -> str:
    """For the table: NaN (nothing measured) becomes a dash."""
    return "—" if math.isnan(value) else f"{value:.{digits}f}"
