"""Breaker, bulkhead and retry budget as values, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from adapters._retry import RetryBudget
from gateway.resilience import (
    BreakerPolicy,
    BreakerState,
    Bulkhead,
    BulkheadFullError,
    BulkheadPolicy,
    CircuitBreaker,
)

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_on_mostly_failing_calls_then_probes_after_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(
        BreakerPolicy(window=10, min_calls=4, failure_ratio=0.5, cool_down_s=5), clock
    )

    def state() -> BreakerState:  # read afresh each time (mypy would narrow the property)
        return breaker.state

    for success in (True, False, True):
        breaker.record(success)
    assert state() == BreakerState.CLOSED  # too few calls for a verdict
    breaker.record(False)  # 2 of 4 failed
    assert state() == BreakerState.OPEN
    assert not breaker.allow()

    clock.now += 5
    assert state() == BreakerState.HALF_OPEN
    assert breaker.allow()  # one probe…
    assert not breaker.allow()  # …at a time
    breaker.record(False)
    assert state() == BreakerState.OPEN

    clock.now += 5
    assert breaker.allow()
    breaker.record(True)
    assert state() == BreakerState.CLOSED
    assert breaker.allow()


def test_a_cancelled_probe_lets_the_next_one_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(min_calls=1, cool_down_s=1), clock)
    breaker.record(False)
    clock.now += 1
    assert breaker.allow()
    breaker.release_probe()
    assert breaker.allow()


async def test_bulkhead_refuses_at_once_when_the_waiting_room_is_full() -> None:
    bulkhead = Bulkhead(BulkheadPolicy(max_concurrent=1, max_waiting=1))
    release = asyncio.Event()

    async def occupy() -> None:
        async with bulkhead.slot():
            await release.wait()

    running = asyncio.create_task(occupy())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(occupy())
    await asyncio.sleep(0)
    with pytest.raises(BulkheadFullError):
        async with bulkhead.slot():
            pass
    release.set()
    await asyncio.gather(running, waiting)
    async with bulkhead.slot():
        pass


async def test_bulkhead_serves_waiters_in_order_and_never_exceeds_its_limit() -> None:
    bulkhead = Bulkhead(BulkheadPolicy(max_concurrent=2, max_waiting=10))
    order: list[int] = []
    peak = 0

    async def call(n: int) -> None:
        nonlocal peak
        async with bulkhead.slot():
            peak = max(peak, bulkhead.in_flight)
            order.append(n)
            await asyncio.sleep(0.001)

    await asyncio.gather(*(call(n) for n in range(8)))
    assert order == list(range(8))
    assert peak == 2
    assert (bulkhead.in_flight, bulkhead.waiting) == (0, 0)


async def test_a_cancelled_waiter_gives_up_its_place_and_any_slot_handed_to_it() -> None:
    bulkhead = Bulkhead(BulkheadPolicy(max_concurrent=1, max_waiting=5))
    release = asyncio.Event()

    async def occupy() -> None:
        async with bulkhead.slot():
            await release.wait()

    holder = asyncio.create_task(occupy())
    await asyncio.sleep(0)
    queued = [asyncio.create_task(occupy()) for _ in range(2)]
    await asyncio.sleep(0)
    assert bulkhead.waiting == 2
    queued[1].cancel()  # gives up its place in the queue
    await asyncio.sleep(0)
    release.set()
    await asyncio.sleep(0)  # the holder leaves: its slot is handed to queued[0]
    queued[0].cancel()  # ... which is cancelled before it runs: the slot must come back
    await asyncio.gather(holder, *queued, return_exceptions=True)
    assert (bulkhead.in_flight, bulkhead.waiting) == (0, 0)
    async with bulkhead.slot():
        assert bulkhead.in_flight == 1


def test_retry_budget_caps_retries_at_a_share_of_calls() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_per_s=0.0, clock=clock)
    while budget.try_spend():  # use up the initial reserve
        pass
    granted = 0
    for _ in range(100):
        budget.deposit()
        granted += budget.try_spend()
    assert granted == 20
    clock.now += 10
    assert not budget.try_spend()  # no time-based refill at min_per_s=0


def test_retry_budget_refills_with_time() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.0, min_per_s=2.0, clock=clock)
    while budget.try_spend():
        pass
    clock.now += 1.0
    assert budget.try_spend()
    assert budget.try_spend()
    assert not budget.try_spend()
