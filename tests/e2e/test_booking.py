"""BookSolution end to end: a saga across the sandbox partners, checked in their ledgers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import grpc
import pytest

from adapters import PartnerTimeout, create_adapter
from gateway.runtime import RunningGateway
from partnergateway.v1 import order_pb2, order_service_pb2, order_service_pb2_grpc
from sandbox import SandboxCluster
from tests.adapters.test_reference_adapter import config_for
from tests.e2e.booking_support import book, calls, compose_solution, final_order
from tests.support import SandboxControl, Stub, error_info, rich_status

CONFIRMED = order_pb2.ORDER_COMPONENT_STATE_CONFIRMED
RELEASED = order_pb2.ORDER_COMPONENT_STATE_RELEASED


async def test_happy_path_one_hold_and_one_confirmation_per_partner(
    channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    solution = await compose_solution(channel)

    order = await book(channel, solution, "happy-1")

    assert order.state == order_pb2.ORDER_STATE_CONFIRMED
    assert len(order.components) == 4
    for component in order.components:
        assert component.state == CONFIRMED
        assert component.reference
        assert await calls(control, component.partner_id, order.order_id, "hold") == [201]
        assert await calls(control, component.partner_id, order.order_id, "confirm") == [200]
        assert await calls(control, component.partner_id, order.order_id, "cancel") == []
    assert {m.currency_code for m in order.totals} == {"CNY", "JPY"}


async def test_a_refused_hold_releases_the_others(
    channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    solution = await compose_solution(channel)
    insurer = next(c.offer.partner_id for c in solution.components if c.kind == "insurance")
    await control.set_knobs(insurer, fail_next=[{"operation": "hold", "status": 409, "count": 1}])

    order = await book(channel, solution, "refused-1")

    assert order.state == order_pb2.ORDER_STATE_COMPENSATED
    by_kind = {c.kind: c for c in order.components}
    assert by_kind["insurance"].state == order_pb2.ORDER_COMPONENT_STATE_HOLD_FAILED
    for kind in ("connectivity", "flight", "car"):
        c = by_kind[kind]
        assert c.state == RELEASED
        # Held once, released once, never confirmed: nothing is left behind at the partner.
        assert await calls(control, c.partner_id, order.order_id, "hold") == [201]
        assert await calls(control, c.partner_id, order.order_id, "cancel") == [200]
        assert await calls(control, c.partner_id, order.order_id, "confirm") == []


async def test_a_refused_confirmation_releases_the_confirmed_ones(
    channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    solution = await compose_solution(channel)
    car = next(c.offer.partner_id for c in solution.components if c.kind == "car")
    await control.set_knobs(car, fail_next=[{"operation": "confirm", "status": 409, "count": 1}])

    order = await book(channel, solution, "confirm-refused-1")

    assert order.state == order_pb2.ORDER_STATE_COMPENSATED
    assert all(c.state == RELEASED for c in order.components)
    for c in order.components:
        assert await calls(control, c.partner_id, order.order_id, "cancel") == [200]


async def test_a_release_that_keeps_failing_is_parked_as_needing_attention(
    channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    solution = await compose_solution(channel)
    partner = {c.kind: c.offer.partner_id for c in solution.components}
    await control.set_knobs(partner["flight"], fail_next=[{"operation": "confirm", "status": 409}])
    await control.set_knobs(
        partner["car"], fail_next=[{"operation": "cancel", "status": 503, "count": 50}]
    )

    order = await book(channel, solution, "attention-1")

    assert order.state == order_pb2.ORDER_STATE_NEEDS_ATTENTION
    by_kind = {c.kind: c for c in order.components}
    assert by_kind["car"].state == order_pb2.ORDER_COMPONENT_STATE_NEEDS_ATTENTION
    assert by_kind["car"].detail
    # The others were released all the same: the stuck one does not block the rest.
    assert by_kind["insurance"].state == RELEASED
    assert by_kind["connectivity"].state == RELEASED


async def test_accept_partial_keeps_what_could_be_booked(
    channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    solution = await compose_solution(channel)
    telecom = next(c.offer.partner_id for c in solution.components if c.kind == "connectivity")
    await control.set_knobs(telecom, fail_next=[{"operation": "hold", "status": 409, "count": 1}])

    order = await book(channel, solution, "partial-1", accept_partial=True)

    assert order.state == order_pb2.ORDER_STATE_PARTIALLY_CONFIRMED
    states = {c.kind: c.state for c in order.components}
    assert states.pop("connectivity") == order_pb2.ORDER_COMPONENT_STATE_HOLD_FAILED
    assert set(states.values()) == {CONFIRMED}


async def test_a_retry_after_a_lost_answer_does_not_hold_twice(
    sandbox: SandboxCluster, control: SandboxControl, channel: grpc.aio.Channel, stub: Stub
) -> None:
    solution = await compose_solution(channel)
    flight = next(c for c in solution.components if c.kind == "flight")
    partner = flight.offer.partner_id
    adapter = create_adapter(config_for(sandbox, partner))
    holds = sandbox.partners[partner].state.bookings.holds
    before = set(holds)
    await control.set_knobs(partner, latency_ms=400)
    try:
        with pytest.raises(PartnerTimeout):
            await adapter.hold(
                flight.offer.offer_id,
                [],
                idempotency_key="lost-1:flight:hold",
                deadline=time.monotonic() + 0.2,
            )
        # The partner finishes the hold although nobody waits for the answer any more.
        async with asyncio.timeout(5):
            while not await control.ledger(partner, "hold"):  # noqa: ASYNC110 - another service's state
                await asyncio.sleep(0.05)
        await control.set_knobs(partner, latency_ms=5)
        first = await adapter.hold(
            flight.offer.offer_id,
            [],
            idempotency_key="lost-1:flight:hold",
            deadline=time.monotonic() + 5,
        )
        again = await adapter.hold(
            flight.offer.offer_id,
            [],
            idempotency_key="lost-1:flight:hold",
            deadline=time.monotonic() + 5,
        )
    finally:
        await adapter.aclose()
    assert first.hold_id == again.hold_id
    assert set(holds) - before == {first.hold_id}  # one hold, however often it was asked for


async def test_replay_returns_the_first_order_and_books_nothing_new(
    channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    solution = await compose_solution(channel)
    first = await book(channel, solution, "replay-book-1")

    again = await book(channel, solution, "replay-book-1")

    assert again.order_id == first.order_id
    for c in first.components:
        assert await calls(control, c.partner_id, first.order_id, "hold") == [201]


async def test_concurrent_duplicates_start_one_saga(
    channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    solution = await compose_solution(channel)

    orders = await asyncio.gather(*(book(channel, solution, "dup-book-1") for _ in range(5)))

    assert len({o.order_id for o in orders}) == 1
    order_id = orders[0].order_id
    for c in orders[0].components:
        assert await calls(control, c.partner_id, order_id, "hold") == [201]


async def test_request_id_reuse_with_other_content_is_refused(
    channel: grpc.aio.Channel, stub: Stub
) -> None:
    solution = await compose_solution(channel)
    await book(channel, solution, "reuse-book-1")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await book(channel, solution, "reuse-book-1", accept_partial=True)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(rich_status(caught.value)).reason == "REQUEST_ID_REUSED"


async def test_another_partner_cannot_see_or_touch_the_order(
    channel: grpc.aio.Channel, stub: Stub
) -> None:
    solution = await compose_solution(channel)  # entered at telecom-cn
    order = await book(channel, solution, "isolation-1")
    orders = order_service_pb2_grpc.OrderServiceStub(channel)
    stranger = "airline-a"

    calls_by_stranger: list[Awaitable[object]] = [
        orders.GetOrder(
            order_service_pb2.GetOrderRequest(order_id=order.order_id, partner_id=stranger)
        ),
        orders.CancelOrder(
            order_service_pb2.CancelOrderRequest(
                order_id=order.order_id, partner_id=stranger, confirm=True, request_id="x"
            )
        ),
    ]
    for call in calls_by_stranger:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in orders.WatchOrder(
            order_service_pb2.WatchOrderRequest(order_id=order.order_id, partner_id=stranger)
        ):
            pass
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await orders.ListOrders(order_service_pb2.ListOrdersRequest(partner_id=stranger))
    assert order.order_id not in {o.order_id for o in listed.orders}
    mine = await orders.ListOrders(
        order_service_pb2.ListOrdersRequest(partner_id="telecom-cn", page_size=100)
    )
    assert order.order_id in {o.order_id for o in mine.orders}


async def test_list_orders_pages_through_everything_once(
    channel: grpc.aio.Channel, stub: Stub
) -> None:
    solution = await compose_solution(channel, "car")  # entered at car-a
    for i in range(3):
        await book(channel, solution, f"page-{i}")
    orders = order_service_pb2_grpc.OrderServiceStub(channel)
    seen: list[str] = []
    token = ""
    while True:
        page = await orders.ListOrders(
            order_service_pb2.ListOrdersRequest(partner_id="car-a", page_size=1, page_token=token)
        )
        seen += [o.order_id for o in page.orders]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 3


async def test_cancel_quotes_then_cancels(
    channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    solution = await compose_solution(channel)
    order = await book(channel, solution, "cancel-1")
    orders = order_service_pb2_grpc.OrderServiceStub(channel)
    ask = order_service_pb2.CancelOrderRequest(
        order_id=order.order_id, partner_id="telecom-cn", component_kinds=["car"], request_id="c1"
    )

    quote = await orders.CancelOrder(ask)
    assert [r.kind for r in quote.refunds] == ["car"]
    assert quote.order.state == order_pb2.ORDER_STATE_CONFIRMED
    car = next(c for c in order.components if c.kind == "car")
    assert await calls(control, car.partner_id, order.order_id, "cancel") == []

    ask.confirm = True
    done = await orders.CancelOrder(ask, timeout=30)
    by_kind = {c.kind: c.state for c in done.order.components}
    assert by_kind["car"] == order_pb2.ORDER_COMPONENT_STATE_CANCELLED
    assert by_kind["flight"] == CONFIRMED
    assert await calls(control, car.partner_id, order.order_id, "cancel") == [200]

    everything = order_service_pb2.CancelOrderRequest(
        order_id=order.order_id, partner_id="telecom-cn", confirm=True, request_id="c2"
    )
    final = await orders.CancelOrder(everything, timeout=30)
    assert final.order.state == order_pb2.ORDER_STATE_CANCELLED


async def test_watch_streams_every_event_to_the_final_state(
    channel: grpc.aio.Channel, stub: Stub
) -> None:
    solution = await compose_solution(channel)
    order = await book(channel, solution, "watch-1")
    orders = order_service_pb2_grpc.OrderServiceStub(channel)

    events = [
        u.event
        async for u in orders.WatchOrder(
            order_service_pb2.WatchOrderRequest(order_id=order.order_id, partner_id="telecom-cn")
        )
    ]

    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "order_created"
    assert events[-1].type == "order_confirmed"
    assert sum(e.type == "component_confirmed" for e in events) == 4
    later = [
        u.event
        async for u in orders.WatchOrder(
            order_service_pb2.WatchOrderRequest(
                order_id=order.order_id, partner_id="telecom-cn", after_sequence=events[-2].sequence
            )
        )
    ]
    assert [e.sequence for e in later] == [events[-1].sequence]


async def test_expired_solution_is_requoted_and_booked(
    gateway: RunningGateway, channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    for pid in control.base_urls:
        await control.set_knobs(pid, offer_ttl_s=0)  # offers lapse at once
    try:
        solution = await compose_solution(channel)
    finally:
        for pid in control.base_urls:
            await control.set_knobs(pid, offer_ttl_s=900)

    order = await book(channel, solution, "expired-1")
    done = await final_order(channel, order.order_id, "telecom-cn")

    assert done.state == order_pb2.ORDER_STATE_CONFIRMED
    for c in done.components:  # asked again before holding: once to compose, once to re-quote
        assert len(await control.ledger(c.partner_id, "quote")) == 2


class _Dearer:
    """The insurer's catalogue after a price rise: every premium 10 % dearer."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def quote(self, request: Any) -> Any:
        drafts = self._inner.quote(request)
        return [
            {
                **d,
                "price": {**d["price"], "base": str(Decimal(d["price"]["base"]) * Decimal("1.1"))},
            }
            for d in drafts
        ]


async def test_an_expired_solution_whose_price_changed_is_not_booked(
    sandbox: SandboxCluster, channel: grpc.aio.Channel, control: SandboxControl, stub: Stub
) -> None:
    for pid in control.base_urls:
        await control.set_knobs(pid, offer_ttl_s=0)  # offers lapse at once
    solution = await compose_solution(channel)
    for pid in control.base_urls:
        await control.set_knobs(pid, offer_ttl_s=900)
    insurer = next(c.offer.partner_id for c in solution.components if c.kind == "insurance")
    state = sandbox.partners[insurer].state
    original = state.catalogue
    state.catalogue = _Dearer(original)
    try:
        order = await book(channel, solution, "price-rise-1")
        order = await final_order(channel, order.order_id, solution.entry.partner_id)
    finally:
        state.catalogue = original

    assert order.state == order_pb2.ORDER_STATE_FAILED
    insurance = next(c for c in order.components if c.kind == "insurance")
    assert "price changed" in insurance.detail
    for c in order.components:  # nothing was held anywhere
        assert await calls(control, c.partner_id, order.order_id, "hold") == []
