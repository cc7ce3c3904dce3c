"""The booking saga's decisions, on in-memory fake partners: what is held, released, repeated
or parked, and what each partner's ledger shows. End-to-end versions of the fault cases are in
tests/e2e/test_booking_faults.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters import PartnerAuthError, PartnerRejected, PartnerTimeout
from adapters.testing import Answer, Call, FakeAdapter
from gateway.booking import CANCEL_REQUESTED
from gateway.model import ComponentState, HoldOutcome, NewEvent, OrderState, StepKind, StepPhase
from gateway.resilience import (
    BreakerPolicy,
    Bulkhead,
    BulkheadPolicy,
    CircuitBreaker,
    GuardedAdapter,
)
from tests.gateway.booking.support import TRAVELLERS, World, world

pytestmark = pytest.mark.unit


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[World]:
    async with world(tmp_path) as made:
        yield made


def lost(partner_id: str) -> PartnerTimeout:
    return PartnerTimeout(partner_id, "no answer before the deadline")


async def test_every_component_is_held_and_confirmed_once(w: World) -> None:
    order_id = await w.place("happy")

    order = await w.runner().run(order_id)

    assert order is not None
    assert order.state == OrderState.CONFIRMED
    for c in order.components:
        assert c.state == ComponentState.CONFIRMED
        assert c.hold_outcome == HoldOutcome.HELD
        assert c.disclosure is None  # erased once the hold was answered
        partner = w.partners[c.partner_id]
        assert [e.outcome for e in partner.entries("hold")] == ["ok"]
        assert [e.outcome for e in partner.entries("confirm")] == ["ok"]
        assert partner.entries("cancel") == []


async def test_a_hold_whose_answer_was_lost_is_found_by_repeating_it_then_released(
    w: World,
) -> None:
    """Issue 11, finding 1: the flight partner held, but its answer never came back."""
    w.partner("flight").fail_next("hold", lost("airline-a"), after_work=True)
    order_id = await w.place("lost")

    order = await w.runner().run(order_id)

    assert order is not None
    assert order.state == OrderState.COMPENSATED
    flight = order.component("flight")
    assert flight.state == ComponentState.RELEASED
    assert flight.hold_outcome == HoldOutcome.HELD
    assert flight.disclosure is None
    partner = w.partner("flight")
    # The repeat was the identical request, so the partner answered it with its first answer.
    holds = w.adapter("flight").called("hold")
    assert len(holds) == 2
    assert holds[0].travellers == holds[1].travellers == TRAVELLERS["flight"]
    assert holds[0].idempotency_key == holds[1].idempotency_key
    assert [(e.outcome, e.lost) for e in partner.entries("hold")] == [
        ("ok", True),
        ("replayed", False),
    ]
    assert [e.outcome for e in partner.entries("cancel")] == ["ok"]
    assert [h.status for h in partner.holds.values()] == ["cancelled"]
    steps = [
        (s.step, s.phase) for s in await w.store.steps(order_id) if s.component_kind == "flight"
    ]
    assert (StepKind.RESOLVE, StepPhase.SUCCEEDED) in steps
    assert steps[-1] == (StepKind.RELEASE, StepPhase.SUCCEEDED)
    assert order.component("car").state == ComponentState.RELEASED


async def test_a_partner_slower_than_the_step_timeout_is_still_released(w: World) -> None:
    """Issue 11, finding 1 as found: the flight partner answers in 1.6 step timeouts, every
    time. Compensation gives each repeat twice the budget of the one before."""
    partner = w.partner("flight")
    partner.latency_s.update(hold=0.08, cancel=0.08)  # step timeout 0.05 s
    order_id = await w.place("slow")

    order = await w.runner().run(order_id)

    assert order is not None
    assert order.state == OrderState.COMPENSATED
    assert order.component("flight").state == ComponentState.RELEASED
    await asyncio.sleep(0.1)  # the partner finishes what the gateway stopped waiting for
    assert [h.status for h in partner.holds.values()] == ["cancelled"]
    assert all(e.outcome in ("ok", "replayed") for e in partner.ledger)


async def test_a_hold_the_breaker_refused_is_a_plain_failure(w: World) -> None:
    """Issue 11, finding 2: a hold that never left the gateway cannot exist anywhere."""
    flight = w.adapter("flight")
    breaker = CircuitBreaker(BreakerPolicy(min_calls=1, cool_down_s=60))
    breaker.record(False)
    w.wrapped[flight.partner_id] = GuardedAdapter(flight, breaker, Bulkhead(BulkheadPolicy()))
    order_id = await w.place("breaker")

    order = await w.runner().run(order_id)

    assert order is not None
    assert order.state == OrderState.COMPENSATED  # the car was held, then released
    component = order.component("flight")
    assert component.state == ComponentState.HOLD_FAILED
    assert component.hold_outcome == HoldOutcome.NOT_SENT
    assert component.disclosure is None
    assert flight.calls == []  # not asked, not even to find out


async def test_a_refused_hold_is_not_asked_for_again(w: World) -> None:
    w.partner("flight").fail_next(
        "hold", PartnerRejected("airline-a", "sold out", status=409, code="conflict")
    )
    order_id = await w.place("refused")

    order = await w.runner().run(order_id)

    assert order is not None
    assert order.state == OrderState.COMPENSATED
    assert order.component("flight").hold_outcome == HoldOutcome.REFUSED
    assert len(w.adapter("flight").called("hold")) == 1


async def test_a_hold_that_stays_unknown_is_parked_and_its_data_erased(w: World) -> None:
    w.partner("flight").fail_next("hold", lost("airline-a"), count=100)
    order_id = await w.place("unknown")

    order = await w.runner().run(order_id)

    assert order is not None
    assert order.state == OrderState.NEEDS_ATTENTION
    flight = order.component("flight")
    assert flight.state == ComponentState.NEEDS_ATTENTION
    assert flight.hold_outcome == HoldOutcome.UNKNOWN
    assert flight.disclosure is None
    assert len(w.adapter("flight").called("hold")) == 1 + 3  # the hold, then three repeats
    assert order.component("car").state == ComponentState.RELEASED


async def test_a_lost_hold_the_partner_then_says_no_to_has_nothing_to_release(w: World) -> None:
    w.partner("flight").fail_next("hold", lost("airline-a"))  # before any work: no hold
    w.partner("flight").fail_next(
        "hold", PartnerRejected("airline-a", "offer expired", status=409, code="conflict")
    )
    order_id = await w.place("said-no")

    order = await w.runner().run(order_id)

    assert order is not None
    flight = order.component("flight")
    assert flight.state == ComponentState.HOLD_FAILED
    assert flight.hold_outcome == HoldOutcome.REFUSED
    assert flight.disclosure is None
    assert w.partner("flight").entries("cancel") == []
    assert order.state == OrderState.COMPENSATED  # the car was released


async def test_a_repeat_refused_for_other_reasons_says_nothing_about_the_hold(w: World) -> None:
    """Credentials refused on the repeat: the first hold may still exist, so a person looks."""
    partner = w.partner("flight")
    partner.fail_next("hold", lost("airline-a"), after_work=True)
    partner.fail_next("hold", PartnerAuthError("airline-a", "token refused"))
    order_id = await w.place("auth")

    order = await w.runner().run(order_id)

    assert order is not None
    assert order.state == OrderState.NEEDS_ATTENTION
    assert order.component("flight").hold_outcome == HoldOutcome.UNKNOWN


async def test_a_lost_hold_is_not_sent_again_once_consent_is_withdrawn(w: World) -> None:
    order_id = await w.place("withdrawn")
    partner = w.partner("flight")
    store = w.store

    async def withdraw_while_holding(call: Call) -> Answer:
        if call.operation == "hold":
            await store.withdraw_consent("cns-withdrawn", datetime.now(UTC))
            partner.fail_next("hold", lost("airline-a"), after_work=True)
        return await partner(call)

    w.wrapped["airline-a"] = FakeAdapter("airline-a", "airline", withdraw_while_holding)

    order = await w.runner().run(order_id)

    assert order is not None
    flight = order.component("flight")
    assert flight.state == ComponentState.NEEDS_ATTENTION
    assert "consent" in flight.detail
    assert flight.disclosure is None
    assert len(partner.entries("hold")) == 1  # the personal data went out once, not twice


async def test_the_saga_cancels_what_is_marked_cancel_requested_whatever_the_text(
    w: World,
) -> None:
    order_id = await w.place("cancel")
    runner = w.runner()
    await runner.run(order_id)
    lease = await w.store.acquire_lease(order_id, "cancel-request", 5.0)
    assert lease is not None
    order = await w.store.get_order(order_id)
    assert order is not None
    await w.store.save_progress(
        lease,
        state=OrderState.CANCELLING,
        components=[replace(order.component("car"), cancel_requested=True, detail="")],
        events=[NewEvent("cancellation_requested")],
    )
    await w.store.release_lease(lease)

    done = await runner.run(order_id)

    assert done is not None
    assert done.component("car").state == ComponentState.CANCELLED
    assert done.component("flight").state == ComponentState.CONFIRMED
    assert done.state == OrderState.CONFIRMED
    assert CANCEL_REQUESTED not in {c.detail for c in done.components}
