"""Consent and data minimisation, end to end: real gRPC to the gateway, real HTTP to the
sandbox partners, whose ledgers show exactly what each company received."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest

from gateway.audit import last_seq, values_hash, verify_store
from gateway.booking.service import new_order
from gateway.client.journeys import book_request, compose_request, full_consent
from gateway.model import NewEvent, OrderState
from gateway.privacy import HOLD_FIELDS
from gateway.runtime import RunningGateway
from partnergateway.v1 import (
    consent_service_pb2,
    consent_service_pb2_grpc,
    order_pb2,
    order_service_pb2_grpc,
    solution_pb2,
    solution_service_pb2_grpc,
)
from tests.e2e.booking_support import PLAN, final_order
from tests.support import SandboxControl, Stub, error_info, rich_status, violated_fields

PARTNER_KINDS = {
    "telecom-cn": "telecom",
    "airline-a": "airline",
    "airline-b": "airline",
    "insurer-a": "insurer",
    "car-a": "car_rental",
    "car-b": "car_rental",
}
# Every personal value of the sample family that a partner could be sent.
PERSONAL_VALUES = {
    value
    for person in PLAN.travellers
    for value in (
        person.given_name,
        person.family_name,
        person.birth_date.isoformat(),
        person.passport_number,
        person.driving_licence_number,
        person.phone_number,
    )
    if value
}


def _status(component: solution_pb2.Component) -> str:
    return solution_pb2.ComponentStatus.Name(component.status)


async def _compose(channel: grpc.aio.Channel, **kwargs: Any) -> solution_pb2.Solution:
    stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
    response = await stub.ComposeSolution(compose_request("roaming", PLAN, **kwargs), timeout=10)
    solution: solution_pb2.Solution = response.solution
    return solution


async def test_each_partner_receives_only_its_kinds_allow_listed_fields(
    stub: Stub, channel: grpc.aio.Channel, control: SandboxControl
) -> None:
    solution = await _compose(channel)
    order_stub = order_service_pb2_grpc.OrderServiceStub(channel)
    booked = await order_stub.BookSolution(
        book_request(solution.solution_id, PLAN, "privacy-1", "telecom-cn"), timeout=30
    )
    order = await final_order(channel, booked.order.order_id, "telecom-cn")
    assert order.state == order_pb2.ORDER_STATE_CONFIRMED
    drivers = [p for p in PLAN.travellers if p.driver]
    held = {c.partner_id for c in order.components}
    for partner_id in held:
        kind = PARTNER_KINDS[partner_id]
        holds = await control.ledger(partner_id, "hold")
        assert len(holds) == 1, partner_id
        travellers = holds[0]["request"]["travellers"]
        allowed = set(HOLD_FIELDS[kind])
        for traveller in travellers:
            assert set(traveller) <= allowed, (partner_id, traveller)
        if kind == "airline":
            assert [t["passport_number"] for t in travellers] == [
                p.passport_number for p in PLAN.travellers
            ]
            assert all(set(t) == allowed for t in travellers)
        elif kind == "car_rental":  # the drivers only
            assert [t["driving_licence_number"] for t in travellers] == [
                p.driving_licence_number for p in drivers
            ]
            assert all(set(t) == allowed for t in travellers)
        elif kind == "insurer":
            assert [t["residence_region"] for t in travellers] == ["CN"] * len(PLAN.travellers)
            assert all(set(t) == allowed for t in travellers)
        elif kind == "telecom":
            assert travellers == [
                {"subscriber_number": p.phone_number} for p in PLAN.travellers if p.phone_number
            ]
    # Quotes carry the trip, never names or document numbers.
    for partner_id in PARTNER_KINDS:
        for entry in await control.ledger(partner_id, "quote"):
            sent = json.dumps(entry["request"])
            assert not [v for v in PERSONAL_VALUES if v in sent], (partner_id, sent)


async def test_partners_outside_the_consent_are_not_called(
    stub: Stub, channel: grpc.aio.Channel, control: SandboxControl
) -> None:
    consent = full_consent(kinds=("insurer",), partner_ids=("airline-b",))
    solution = await _compose(channel, consent=consent)
    statuses = {c.kind: _status(c) for c in solution.components}
    assert statuses == {
        "connectivity": "COMPONENT_STATUS_CONSENT_REQUIRED",
        "flight": "COMPONENT_STATUS_OK",
        "insurance": "COMPONENT_STATUS_OK",
        "car": "COMPONENT_STATUS_CONSENT_REQUIRED",
    }
    flight = next(c for c in solution.components if c.kind == "flight")
    assert flight.offer.partner_id == "airline-b"
    assert {p.partner_id: p.outcome for p in flight.partners}["airline-a"] == "consent_required"
    called = {pid for pid in PARTNER_KINDS if await control.count(pid, "quote")}
    assert called == {"airline-b", "insurer-a"}


async def test_without_consent_no_partner_is_called_and_nothing_can_be_booked(
    stub: Stub, channel: grpc.aio.Channel, control: SandboxControl
) -> None:
    solution = await _compose(channel, consent=None)
    assert {_status(c) for c in solution.components} == {"COMPONENT_STATUS_CONSENT_REQUIRED"}
    assert not solution.consent_id
    for partner_id in PARTNER_KINDS:
        assert await control.ledger(partner_id) == []
    order_stub = order_service_pb2_grpc.OrderServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await order_stub.BookSolution(
            book_request(solution.solution_id, PLAN, "privacy-none", "telecom-cn"), timeout=10
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(rich_status(refused.value)).reason == "CONSENT_REQUIRED"


async def test_after_withdrawal_nothing_more_is_sent(
    stub: Stub, channel: grpc.aio.Channel, control: SandboxControl
) -> None:
    solution = await _compose(channel)
    consents = consent_service_pb2_grpc.ConsentServiceStub(channel)
    got = await consents.GetConsent(
        consent_service_pb2.GetConsentRequest(consent_id=solution.consent_id), timeout=10
    )
    assert got.consent.purpose == "travel_abroad"
    assert not got.consent.HasField("withdraw_time")
    withdrawn = await consents.WithdrawConsent(
        consent_service_pb2.WithdrawConsentRequest(consent_id=solution.consent_id), timeout=10
    )
    assert withdrawn.consent.HasField("withdraw_time")
    again = await consents.WithdrawConsent(
        consent_service_pb2.WithdrawConsentRequest(consent_id=solution.consent_id), timeout=10
    )
    assert again.consent.withdraw_time == withdrawn.consent.withdraw_time  # the first time kept
    await control.clear_ledgers()
    order_stub = order_service_pb2_grpc.OrderServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await order_stub.BookSolution(
            book_request(solution.solution_id, PLAN, "privacy-withdrawn", "telecom-cn"),
            timeout=10,
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    for partner_id in PARTNER_KINDS:
        assert await control.ledger(partner_id) == []


@pytest.mark.parametrize("state", [OrderState.PENDING, OrderState.HOLDING])
async def test_withdrawal_during_a_booking_stops_the_holds_not_yet_sent(
    stub: Stub,
    channel: grpc.aio.Channel,
    control: SandboxControl,
    gateway: RunningGateway,
    state: OrderState,
) -> None:
    """The order is stored (not started, or about to send its holds), then consent is
    withdrawn before its saga goes on: no hold leaves, the order fails with every component
    saying why, the kept data is erased, and the audit log says so."""
    solution = await _compose(channel)
    consent = await gateway.store.get_consent(solution.consent_id)
    assert consent is not None
    order = new_order(
        book_request(solution.solution_id, PLAN, "privacy-mid", "telecom-cn"),
        solution,
        gateway.directory.kinds,
        consent,
    )
    start = await last_seq(gateway.store)
    stored, created = await gateway.store.create_order(
        replace(order, state=state), None, NewEvent("order_created")
    )
    assert created
    await gateway.store.withdraw_consent(consent.consent_id, datetime.now(UTC))
    await control.clear_ledgers()
    await gateway.orders.start_saga(stored.order_id)
    final = await final_order(channel, stored.order_id, "telecom-cn")
    assert final.state == order_pb2.ORDER_STATE_FAILED
    assert all("consent" in c.detail for c in final.components)
    for partner_id in PARTNER_KINDS:
        assert await control.ledger(partner_id, "hold") == []
    current = await gateway.store.get_order(stored.order_id)
    assert current is not None
    assert all(c.disclosure is None for c in current.components)  # the data is gone
    outcomes = [e.record.outcome for e in await gateway.store.audit_entries(start, 1000)]
    assert "consent_withdrawn" in outcomes
    assert "sent" not in outcomes


async def test_a_booking_must_name_the_composed_travellers_with_what_partners_need(
    stub: Stub, channel: grpc.aio.Channel
) -> None:
    solution = await _compose(channel)
    request = book_request(solution.solution_id, PLAN, "privacy-bad", "telecom-cn")
    request.travellers[0].passport_number = ""  # the airline needs it
    request.travellers[0].driving_licence_number = ""  # the car firm needs it (a driver)
    request.travellers[1].birth_date.year -= 7  # not the person the solution was priced for
    del request.travellers[2]
    order_stub = order_service_pb2_grpc.OrderServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await order_stub.BookSolution(request, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    request.travellers.add().CopyFrom(book_request("", PLAN, "x").travellers[2])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await order_stub.BookSolution(request, timeout=10)
    assert violated_fields(rich_status(refused.value)) == {
        "travellers[0].passport_number",
        "travellers[0].driving_licence_number",
        "travellers[1].birth_date",
    }
    details = refused.value.details() or ""
    assert not [v for v in PERSONAL_VALUES if v in details]


async def test_the_audit_log_proves_each_disclosure_and_its_chain_holds(
    stub: Stub, channel: grpc.aio.Channel, gateway: RunningGateway
) -> None:
    start = await last_seq(gateway.store)
    solution = await _compose(channel)
    order_stub = order_service_pb2_grpc.OrderServiceStub(channel)
    booked = await order_stub.BookSolution(
        book_request(solution.solution_id, PLAN, "privacy-audit", "telecom-cn"), timeout=30
    )
    order = await final_order(channel, booked.order.order_id, "telecom-cn")
    entries = await gateway.store.audit_entries(start, 10_000)
    acts = [(e.record.action, e.record.outcome, e.record.recipient) for e in entries]
    assert acts[0] == ("rpc:SolutionService/ComposeSolution", "consent_recorded", "")
    quoted = {r for a, o, r in acts if a == "partner:quote" and o == "sent"}
    assert quoted == set(PARTNER_KINDS)
    assert ("rpc:OrderService/BookSolution", "created", "") in acts
    for c in order.components:
        assert ("partner:hold", "sent", c.partner_id) in acts
        assert ("partner:hold", "held", c.partner_id) in acts
    airline = next(c for c in order.components if PARTNER_KINDS[c.partner_id] == "airline")
    sent = next(
        e.record
        for e in entries
        if e.record.action == "partner:hold"
        and e.record.outcome == "sent"
        and e.record.recipient == airline.partner_id
    )
    assert sent.consent_id == solution.consent_id
    assert sent.purpose == "travel_abroad"
    assert "travellers[0].passport_number" in sent.fields
    assert sent.values_hash == values_hash(
        [
            {
                "given_name": p.given_name,
                "family_name": p.family_name,
                "birth_date": p.birth_date.isoformat(),
                "passport_number": p.passport_number,
            }
            for p in PLAN.travellers
        ]
    )
    everything = json.dumps([e.record.__dict__ for e in entries], default=str)
    assert not [v for v in PERSONAL_VALUES if v in everything]
    report = await verify_store(gateway.store)
    assert report.ok, report.problem
