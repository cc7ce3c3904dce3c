"""Booking when a partner's answer is lost or its breaker is open (issue 11, findings 1 and 2),
through real gRPC and the sandbox partners, checked in their ledgers and holds. The same
decisions on in-memory partners, in milliseconds: tests/gateway/booking/test_saga.py."""

from __future__ import annotations

import grpc
import pytest

from gateway.client.journeys import compose_request
from gateway.resilience import BreakerState
from gateway.runtime import RunningGateway
from partnergateway.v1 import order_pb2
from sandbox import SandboxCluster
from tests.e2e.booking_support import PLAN, book, calls, compose_solution, final_order
from tests.e2e.test_compose import compose
from tests.e2e.test_faults import breaker_of
from tests.support import SandboxControl, Stub

RELEASED = order_pb2.ORDER_COMPONENT_STATE_RELEASED


@pytest.mark.slow
async def test_a_hold_answered_after_the_step_timeout_is_released_at_the_partner(
    sandbox: SandboxCluster,
    gateway: RunningGateway,
    channel: grpc.aio.Channel,
    control: SandboxControl,
    stub: Stub,
) -> None:
    """The session gateway's `booking.step_timeout_s` is 1 s; the airline answers in 1.5 s,
    every time. Its hold is made, the answer is lost, the order is compensated: the hold must
    be found (the identical request again, same key) and released, not left held."""
    solution = await compose_solution(channel)
    flight = next(c for c in solution.components if c.kind == "flight")
    airline = flight.offer.partner_id
    holds = sandbox.partners[airline].state.bookings.holds
    before = set(holds)
    await control.set_knobs(airline, latency_ms=1500)

    order = await book(channel, solution, "lost-hold-1")
    order = await final_order(channel, order.order_id, solution.entry.partner_id)

    assert order.state == order_pb2.ORDER_STATE_COMPENSATED
    by_kind = {c.kind: c for c in order.components}
    assert by_kind["flight"].state == RELEASED
    made = set(holds) - before
    assert len(made) == 1  # however often it was asked for, one hold…
    assert [holds[h].status for h in made] == ["cancelled"]  # …and it is released
    statuses = await calls(control, airline, order.order_id, "hold")
    assert statuses  # the hold, and its repeats: all the same request, so never a 409
    assert set(statuses) == {201}
    assert 200 in await calls(control, airline, order.order_id, "cancel")
    assert await calls(control, airline, order.order_id, "confirm") == []


async def test_a_hold_refused_by_an_open_breaker_is_a_plain_failure(
    gateway: RunningGateway,
    channel: grpc.aio.Channel,
    control: SandboxControl,
    stub: Stub,
) -> None:
    """A hold the gateway never sent cannot exist anywhere: HOLD_FAILED, the others
    released, no NEEDS_ATTENTION — and no call at the partner, not even to find out."""
    solution = await compose_solution(channel)
    airline = next(c.offer.partner_id for c in solution.components if c.kind == "flight")
    await control.set_knobs(
        airline, fail_next=[{"operation": "quote", "status": 503, "count": 1000}]
    )
    for _ in range(5):  # the breaker's verdict: five failed calls in a row
        await compose(stub, compose_request("roaming", PLAN), wait_s=5)
    await control.set_knobs(airline, fail_next=[])  # healthy again, but skipped until cooled
    assert breaker_of(gateway, airline).breaker.state == BreakerState.OPEN

    order = await book(channel, solution, "breaker-open-1")
    order = await final_order(channel, order.order_id, solution.entry.partner_id)

    assert order.state == order_pb2.ORDER_STATE_COMPENSATED
    by_kind = {c.kind: c for c in order.components}
    assert by_kind["flight"].state == order_pb2.ORDER_COMPONENT_STATE_HOLD_FAILED
    assert all(c.state == RELEASED for kind, c in by_kind.items() if kind != "flight")
    assert await calls(control, airline, order.order_id, "hold") == []
    assert await calls(control, airline, order.order_id, "cancel") == []
