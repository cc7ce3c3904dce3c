"""`retrieve`: bookings the customer holds, read back from real sandbox partners over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from adapters import (
    BookingNotFound,
    BookingStatus,
    HeldBooking,
    PartnerAdapter,
    PartnerProtocolError,
    PartnerRejected,
    QuoteRequest,
    create_adapter,
)
from adapters.airline import quote_body as airline_quote_body
from sandbox import SandboxCluster
from sandbox._bookings import Hold
from tests.adapters.support import config_for, soon
from tests.support import SandboxControl

FLIGHT = QuoteRequest(
    component="flight",
    params={
        "origin": "PVG",
        "destination": "NRT",
        "depart_date": "2030-03-01",
        "return_date": "2030-03-08",
        "adults": 2,
        "children": 0,
    },
)
CAR_QUOTE = {
    "pickup_location": "NRT",
    "pickup_date": "2030-03-01",
    "return_date": "2030-03-06",
    "driver_age": 40,
    "passengers": 3,
}
FLIGHT_BODY = airline_quote_body(FLIGHT.params)
TRAVELLERS = [{"given_name": "Wei", "family_name": "Li"}, {"given_name": "Na", "family_name": "Li"}]


@pytest.fixture
async def airline(sandbox: SandboxCluster, fresh: SandboxControl) -> AsyncIterator[PartnerAdapter]:
    adapter = create_adapter(config_for(sandbox, "airline-a"))
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def car(sandbox: SandboxCluster, fresh: SandboxControl) -> AsyncIterator[PartnerAdapter]:
    adapter = create_adapter(config_for(sandbox, "car-a"))
    yield adapter
    await adapter.aclose()


async def sell(sandbox: SandboxCluster, partner_id: str, body: dict[str, Any]) -> str:
    """A booking made at the partner's own counter; its reference."""
    async with httpx2.AsyncClient(trust_env=False) as http:
        response = await http.post(
            f"{sandbox.partners[partner_id].base_url}/_sandbox/sales", json=body
        )
    assert response.status_code == 201, response.text
    reference = response.json()["reference"]
    assert isinstance(reference, str)
    return reference


async def test_a_booking_made_through_hold_and_confirm(
    airline: PartnerAdapter, fresh: SandboxControl
) -> None:
    offer = (await airline.quote(FLIGHT, deadline=soon()))[0]
    hold = await airline.hold(offer.offer_id, TRAVELLERS, idempotency_key="r-1", deadline=soon())
    confirmed = await airline.confirm(hold.hold_id, idempotency_key="r-2", deadline=soon())

    booking = await airline.retrieve(confirmed.reference, deadline=soon())

    assert booking == HeldBooking(
        partner_id="airline-a",
        reference=confirmed.reference,
        status=BookingStatus.CONFIRMED,
        offer_id=offer.offer_id,
        product_code=offer.product_code,
        title=offer.title,
        price=offer.price,
        attributes=offer.attributes,
        traveller_count=2,
    )
    [entry] = await fresh.ledger("airline-a", "retrieve")
    assert (entry["method"], entry["path"]) == ("GET", f"/v1/bookings/{confirmed.reference}")
    assert entry["idempotency_key"] is None

    await airline.cancel(hold.hold_id, idempotency_key="r-3", deadline=soon())
    cancelled = await airline.retrieve(confirmed.reference, deadline=soon())
    assert cancelled.status is BookingStatus.CANCELLED


async def test_a_booking_sold_at_the_partners_counter(
    sandbox: SandboxCluster, car: PartnerAdapter
) -> None:
    reference = await sell(sandbox, "car-a", {"quote": CAR_QUOTE, "pick": 1})
    booking = await car.retrieve(reference, deadline=soon())
    second = (await car.quote(QuoteRequest("car", CAR_QUOTE), deadline=soon()))[1]

    assert booking.reference == reference
    assert booking.status == "confirmed"
    assert (booking.offer_id, booking.price) == (second.offer_id, second.price)
    assert booking.attributes == second.attributes
    assert booking.attributes["cars"] == "1"
    assert booking.traveller_count == 3  # the quote's passengers


async def test_an_unknown_reference_is_booking_not_found(
    airline: PartnerAdapter, fresh: SandboxControl
) -> None:
    with pytest.raises(BookingNotFound) as caught:
        await airline.retrieve("ES-ZZZZZZ", deadline=soon())
    error = caught.value
    assert isinstance(error, PartnerRejected)
    assert (error.outcome, error.status, error.code) == ("not_found", 404, "not_found")
    assert not error.retryable
    assert [e["status"] for e in await fresh.ledger("airline-a", "retrieve")] == [404]


async def test_the_reference_is_escaped_into_the_path(airline: PartnerAdapter) -> None:
    # A `?` or a space must reach the partner as part of the reference, not start a query.
    with pytest.raises(BookingNotFound, match=r"booking ES 1\?x does not exist"):
        await airline.retrieve("ES 1?x", deadline=soon())


async def test_a_transient_failure_is_retried(
    sandbox: SandboxCluster, airline: PartnerAdapter, fresh: SandboxControl
) -> None:
    reference = await sell(sandbox, "airline-a", {"quote": FLIGHT_BODY})
    await fresh.set_knobs("airline-a", fail_next=[{"operation": "retrieve", "status": 503}])
    booking = await airline.retrieve(reference, deadline=soon())
    assert booking.traveller_count == 2
    assert [e["status"] for e in await fresh.ledger("airline-a", "retrieve")] == [503, 200]


async def test_a_truncated_answer_is_a_protocol_error(
    sandbox: SandboxCluster, airline: PartnerAdapter, fresh: SandboxControl
) -> None:
    reference = await sell(sandbox, "airline-a", {"quote": FLIGHT_BODY})
    await fresh.set_knobs("airline-a", fail_next=[{"operation": "retrieve", "malformed": True}])
    with pytest.raises(PartnerProtocolError):
        await airline.retrieve(reference, deadline=soon())


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda hold: setattr(hold, "status", "lost"), id="unknown-status"),
        pytest.param(lambda hold: setattr(hold, "traveller_count", True), id="count-not-int"),
        pytest.param(
            lambda hold: setattr(
                hold, "offer", {**hold.offer, "price": {**hold.offer["price"], "base": "x"}}
            ),
            id="price-not-decimal",
        ),
        pytest.param(
            lambda hold: setattr(
                hold,
                "offer",
                {**hold.offer, "price": {**hold.offer["price"], "currency_code": "XYZ"}},
            ),
            id="made-up-currency",
        ),
        pytest.param(
            lambda hold: setattr(hold, "offer", {**hold.offer, "details": ["not", "an", "object"]}),
            id="details-not-object",
        ),
    ],
)
async def test_a_malformed_booking_is_a_protocol_error(
    sandbox: SandboxCluster, airline: PartnerAdapter, spoil: Any
) -> None:
    reference = await sell(sandbox, "airline-a", {"quote": FLIGHT_BODY})
    hold: Hold = sandbox.partners["airline-a"].state.bookings.find_booking(reference)
    spoil(hold)  # the partner's next answer about it breaks the protocol
    with pytest.raises(PartnerProtocolError, match="malformed booking"):
        await airline.retrieve(reference, deadline=soon())
