"""The closed loop's count-based window, with calls that only sleep: when it opens and
closes, and what it counts."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import pytest

from bench._closed_loop import WindowRule, closed_loop
from bench._outcomes import Outcome

pytestmark = pytest.mark.unit


def sleeping(seconds: float) -> Callable[[], Awaitable[Outcome]]:
    async def call() -> Outcome:
        await asyncio.sleep(seconds)
        return None

    return call


async def test_the_window_closes_once_enough_calls_have_completed() -> None:
    rule = WindowRule(min_calls=30, calls_per_worker=5, min_s=0, cap_s=5, warmup_min_s=0)
    window = await closed_loop(sleeping(0.002), concurrency=4, rule=rule, cpu_clocks={})
    assert window.target_calls == 30  # max(30, 5 × 4)
    assert 30 <= window.completed < 40
    assert not window.capped
    assert window.seconds < 1


async def test_a_few_calls_per_worker_beat_the_minimum_at_high_concurrency() -> None:
    rule = WindowRule(min_calls=10, calls_per_worker=3, min_s=0, cap_s=5, warmup_min_s=0)
    window = await closed_loop(sleeping(0.001), concurrency=20, rule=rule, cpu_clocks={})
    assert window.target_calls == 60
    assert window.completed >= 60


async def test_the_window_lasts_at_least_its_minimum_time() -> None:
    rule = WindowRule(min_calls=1, calls_per_worker=0, min_s=0.2, cap_s=5, warmup_min_s=0)
    window = await closed_loop(sleeping(0.001), concurrency=1, rule=rule, cpu_clocks={})
    assert window.seconds >= 0.2
    assert not window.capped


async def test_a_window_that_cannot_reach_its_count_closes_at_the_cap_and_says_so() -> None:
    rule = WindowRule(min_calls=1000, calls_per_worker=0, min_s=0, cap_s=0.2, warmup_min_s=0)
    window = await closed_loop(sleeping(0.02), concurrency=1, rule=rule, cpu_clocks={})
    assert window.capped
    assert 0.2 <= window.seconds < 0.4
    assert window.completed < 1000


async def test_warm_up_lasts_until_each_worker_has_completed_a_call() -> None:
    rule = WindowRule(min_calls=4, calls_per_worker=0, min_s=0, cap_s=5, warmup_min_s=0)
    window = await closed_loop(sleeping(0.1), concurrency=4, rule=rule, cpu_clocks={})
    assert window.warmup_s >= 0.1


async def test_calls_in_flight_when_the_window_opens_count_for_throughput_not_latency() -> None:
    # Four workers in step: the window opens while four calls are under way; they end in it
    # (throughput) but started before it (no latency); the next four are wholly inside.
    rule = WindowRule(min_calls=8, calls_per_worker=0, min_s=0, cap_s=5, warmup_min_s=0)
    window = await closed_loop(sleeping(0.1), concurrency=4, rule=rule, cpu_clocks={})
    assert window.completed == 8
    assert len(window.latencies_s) == 4
    assert all(latency >= 0.1 for latency in window.latencies_s)


async def test_failures_are_counted_by_reason_and_left_out_of_latencies() -> None:
    turns = itertools.count()

    async def flaky() -> Outcome:
        await asyncio.sleep(0.001)
        turn = next(turns) % 3
        if turn == 1:
            return "partner airline-a timeout"
        if turn == 2:
            raise ValueError("broken")
        return None

    rule = WindowRule(min_calls=30, calls_per_worker=0, min_s=0, cap_s=5, warmup_min_s=0)
    window = await closed_loop(flaky, concurrency=1, rule=rule, cpu_clocks={})
    assert window.failures.keys() == {"partner airline-a timeout", "ValueError: broken"}
    assert window.failed == sum(window.failures.values())
    assert len(window.latencies_s) == window.completed - window.failed


async def test_cpu_clocks_are_read_when_the_window_opens_and_closes() -> None:
    ticks = itertools.count()
    rule = WindowRule(min_calls=5, calls_per_worker=0, min_s=0, cap_s=5, warmup_min_s=0)
    window = await closed_loop(
        sleeping(0.001), concurrency=1, rule=rule, cpu_clocks={"clock": lambda: next(ticks)}
    )
    assert window.cpu_s == {"clock": 1}


def test_a_rule_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="at least one call"):
        WindowRule(min_calls=0)
    with pytest.raises(ValueError, match="min_s ≤ cap_s"):
        WindowRule(min_s=5, cap_s=1)
