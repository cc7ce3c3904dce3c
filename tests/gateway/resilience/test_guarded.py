"""The guarded adapter on an in-memory fake partner: what counts against the breaker."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters import (
    CallNotSent,
    PartnerRejected,
    PartnerServerError,
    PartnerTimeout,
    QuoteRequest,
)
from adapters.testing import Call, FakeAdapter, FakePartner, offer
from gateway.resilience import (
    BreakerPolicy,
    BreakerState,
    Bulkhead,
    BulkheadPolicy,
    CircuitBreaker,
    CircuitOpenError,
    GuardedAdapter,
    PartnerBusyError,
    essential,
)

pytestmark = pytest.mark.unit

REQUEST = QuoteRequest(component="car", params={})
POLICY = BreakerPolicy(window=10, min_calls=3, failure_ratio=0.5, cool_down_s=60)


def state(adapter: GuardedAdapter) -> BreakerState:
    """Read afresh each time (mypy would narrow the property between calls)."""
    return adapter.breaker.state


def guarded(partner: FakePartner, bulkhead: BulkheadPolicy | None = None) -> GuardedAdapter:
    return GuardedAdapter(
        FakeAdapter(partner.partner_id, "car_rental", partner),
        CircuitBreaker(POLICY),
        Bulkhead(bulkhead or BulkheadPolicy()),
    )


async def test_calls_cut_by_the_callers_deadline_open_the_breaker() -> None:
    """As the fan-out asks: an outer `asyncio.timeout_at(deadline)` that fires before the
    adapter's own timeout cancels the call; it is a failure all the same."""
    partner = FakePartner("car-b", latency_s={"quote": 0.5})
    adapter = guarded(partner)

    for _ in range(3):
        deadline = time.monotonic() + 0.02
        with pytest.raises(TimeoutError):
            async with asyncio.timeout_at(deadline):
                # The adapter is given a later deadline, so the outer timeout always wins.
                await adapter.quote(REQUEST, deadline=deadline)

    assert state(adapter) == BreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        await adapter.quote(REQUEST, deadline=time.monotonic() + 1)


async def test_a_caller_going_away_before_the_deadline_says_nothing_about_the_partner() -> None:
    partner = FakePartner("car-b", latency_s={"quote": 0.5})
    adapter = guarded(partner)

    for _ in range(5):
        call = asyncio.create_task(adapter.quote(REQUEST, deadline=time.monotonic() + 5))
        await asyncio.sleep(0.005)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    assert state(adapter) == BreakerState.CLOSED


async def test_the_error_classes_decide_what_counts() -> None:
    partner = FakePartner("car-b", [offer("car-b", "o-1")])
    adapter = guarded(partner)
    partner.fail_next("quote", PartnerRejected("car-b", "no", status=400, code="bad"), count=5)
    for _ in range(5):
        with pytest.raises(PartnerRejected):
            await adapter.quote(REQUEST, deadline=time.monotonic() + 1)
    assert state(adapter) == BreakerState.CLOSED  # a refusal is an answer: it is up

    partner.fail_next("quote", PartnerServerError("car-b", "boom"), count=5)
    for _ in range(5):  # half of the last ten calls
        with pytest.raises(PartnerServerError):
            await adapter.quote(REQUEST, deadline=time.monotonic() + 1)
    assert state(adapter) == BreakerState.OPEN


async def test_refusals_before_the_call_left_are_not_sent_errors() -> None:
    partner = FakePartner("car-b", [offer("car-b", "o-1")], latency_s={"quote": 0.05})
    adapter = guarded(partner, BulkheadPolicy(max_concurrent=1, max_waiting=0))
    first = asyncio.create_task(adapter.quote(REQUEST, deadline=time.monotonic() + 1))
    await asyncio.sleep(0)
    with pytest.raises(PartnerBusyError) as busy:
        await adapter.quote(REQUEST, deadline=time.monotonic() + 1)
    await first
    for _ in range(3):
        adapter.breaker.record(False)
    with pytest.raises(CircuitOpenError) as skipped:
        await adapter.quote(REQUEST, deadline=time.monotonic() + 1)

    for refused in (busy.value, skipped.value):
        assert isinstance(refused, CallNotSent)
        assert not refused.effect_unknown
        assert not refused.counts_against_breaker
    assert len(partner.entries("quote")) == 1  # only the first call reached the partner


async def test_essential_calls_go_out_while_the_breaker_is_open_and_still_count() -> None:
    partner = FakePartner("car-b", [offer("car-b", "o-1")])
    adapter = guarded(partner)
    for _ in range(3):
        adapter.breaker.record(False)
    assert state(adapter) == BreakerState.OPEN

    hold = await essential(adapter).hold(
        "o-1", [], idempotency_key="k-1", deadline=time.monotonic() + 1
    )

    assert hold.hold_id in partner.holds
    partner.fail_next("hold", PartnerTimeout("car-b", "slow"))
    with pytest.raises(PartnerTimeout):
        await essential(adapter).hold(
            "o-1", [], idempotency_key="k-2", deadline=time.monotonic() + 1
        )
    assert state(adapter) == BreakerState.OPEN


async def test_the_fake_adapter_hands_every_call_to_its_handler() -> None:
    seen: list[Call] = []

    def handler(call: Call) -> tuple[()]:
        seen.append(call)
        return ()

    adapter = FakeAdapter("p", "telecom", handler)
    assert await adapter.quote(REQUEST, deadline=time.monotonic() + 1) == ()
    assert [c.operation for c in seen] == ["quote"]
    assert adapter.calls == seen
