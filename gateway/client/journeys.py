"""A customer's trip, the entry event each partner kind would send for it, and the requests
that compose and book it.

Used by `demo` and `compose`, by the benchmarks, and by the tests to show that the four entries
agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from google.protobuf import timestamp_pb2
from google.type import date_pb2

from partnergateway.v1 import consent_pb2, entry_pb2, order_service_pb2, solution_service_pb2

ENTRY_KINDS = ("roaming", "flight", "insurance", "car")
DEFAULT_ENTRY_PARTNERS = {
    "roaming": "telecom-cn",
    "flight": "airline-a",
    "insurance": "insurer-a",
    "car": "car-a",
}


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str
    birth_date: date
    driver: bool = False
    residence_region_code: str = "CN"
    home_airport: str = "PVG"
    phone_number: str = ""
    passport_number: str = ""
    driving_licence_number: str = ""


def sample_family() -> tuple[Person, ...]:
    return (
        Person(
            "Wei",
            "Li",
            date(1988, 3, 14),
            driver=True,
            phone_number="+8613800138000",
            passport_number="EA1234567",
            driving_licence_number="310101198803140011",
        ),
        Person("Min", "Zhang", date(1990, 7, 2), passport_number="EB7654321"),
        Person("Xiaoyu", "Li", date(2017, 5, 20), passport_number="EC2468013"),
    )


@dataclass(frozen=True)
class TripPlan:
    """One trip as the customer thinks of it."""

    destination_region: str
    destination_airport: str
    depart: date
    back: date
    travellers: tuple[Person, ...] = field(default_factory=sample_family)

    @classmethod
    def sample(cls, today: date) -> TripPlan:
        depart = today + timedelta(days=30)
        return cls("JP", "NRT", depart, depart + timedelta(days=7))


def _date(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


@dataclass(frozen=True)
class HeldProduct:
    """A product the customer bought directly at a partner: its partner and reference."""

    partner_id: str
    reference: str


def entry_event(
    kind: str, plan: TripPlan, partner_id: str, reference: str = ""
) -> entry_pb2.EntryEvent:
    """The event `partner_id` (of the matching kind) would report for this trip; `reference`
    is the customer's booking there, when the event reports one the customer bought."""
    lead = plan.travellers[0]
    count = len(plan.travellers)
    event = entry_pb2.EntryEvent(partner_id=partner_id)
    if kind == "roaming":
        event.roaming.CopyFrom(
            entry_pb2.RoamingActivation(
                subscriber_number=lead.phone_number or "+8613800138000",
                destination_region_code=plan.destination_region,
                start_date=_date(plan.depart),
                end_date=_date(plan.back),
            )
        )
    elif kind == "flight":
        event.flight.CopyFrom(
            entry_pb2.FlightBooking(
                booking_reference=reference,
                origin_airport=lead.home_airport,
                destination_airport=plan.destination_airport,
                depart_date=_date(plan.depart),
                return_date=_date(plan.back),
                passenger_count=count,
            )
        )
    elif kind == "insurance":
        event.insurance.CopyFrom(
            entry_pb2.InsurancePurchase(
                policy_number=reference,
                destination_region_code=plan.destination_region,
                cover_start_date=_date(plan.depart),
                cover_end_date=_date(plan.back),
                insured_count=count,
            )
        )
    elif kind == "car":
        event.car.CopyFrom(
            entry_pb2.CarRental(
                rental_reference=reference,
                pickup_location=plan.destination_airport,
                pickup_date=_date(plan.depart),
                return_date=_date(plan.back),
            )
        )
    else:
        raise ValueError(f"unknown entry kind {kind!r}; one of {', '.join(ENTRY_KINDS)}")
    return event


def traveller_message(person: Person, *, documents: bool = False) -> entry_pb2.Traveller:
    """The traveller as a request carries them; passport and licence numbers only when
    `documents` (booking): composing does not need them, so it is not sent them."""
    message = entry_pb2.Traveller(
        given_name=person.given_name,
        family_name=person.family_name,
        birth_date=_date(person.birth_date),
        residence_region_code=person.residence_region_code,
        home_airport=person.home_airport,
        driver=person.driver,
        phone_number=person.phone_number,
    )
    if documents:
        message.passport_number = person.passport_number
        message.driving_licence_number = person.driving_licence_number
    return message


# The partner kinds the travel-abroad solution asks, which the sample customer consents to.
TRAVEL_PARTNER_KINDS = ("telecom", "airline", "insurer", "car_rental")
NOTICE_VERSION = "2026-09"


def full_consent(
    kinds: tuple[str, ...] = TRAVEL_PARTNER_KINDS,
    partner_ids: tuple[str, ...] = (),
    purpose: str = "travel_abroad",
) -> consent_pb2.Consent:
    """The customer's consent as the entry partner collected it, today at midnight UTC (a
    fixed instant, so a retried request carries the same content)."""
    given = timestamp_pb2.Timestamp()
    given.FromDatetime(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    return consent_pb2.Consent(
        purpose=purpose,
        partner_kinds=kinds,
        partner_ids=partner_ids,
        give_time=given,
        notice_version=NOTICE_VERSION,
    )


_DEFAULT_CONSENT = object()


def compose_request(
    kind: str,
    plan: TripPlan,
    partner_id: str | None = None,
    request_id: str = "",
    consent: consent_pb2.Consent | object | None = _DEFAULT_CONSENT,
    *,
    held: Sequence[HeldProduct] = (),
    language_code: str = "en",
) -> solution_service_pb2.ComposeSolutionRequest:
    """The request; by default with the customer's consent to every partner kind of the
    trip (`consent=None`: without any). Of the products the customer `held`, the one bought
    at the entry partner comes in the entry event (its reference), as that partner would
    report it; the others are listed in `held_products`."""
    entry_partner = partner_id or DEFAULT_ENTRY_PARTNERS[kind]
    own = next((h for h in held if h.partner_id == entry_partner), None)
    request = solution_service_pb2.ComposeSolutionRequest(
        request_id=request_id,
        entry=entry_event(kind, plan, entry_partner, own.reference if own else ""),
        travellers=[traveller_message(p) for p in plan.travellers],
        language_code=language_code,
    )
    for product in held:
        if product is not own:
            request.held_products.add(partner_id=product.partner_id, reference=product.reference)
    if consent is _DEFAULT_CONSENT:
        request.consent.CopyFrom(full_consent())
    elif isinstance(consent, consent_pb2.Consent):
        request.consent.CopyFrom(consent)
    return request


def book_request(
    solution_id: str,
    plan: TripPlan,
    request_id: str,
    partner_id: str = "",
    **fields: object,
) -> order_service_pb2.BookSolutionRequest:
    """Booking a solution of `plan`, with the travellers' details the partners need."""
    return order_service_pb2.BookSolutionRequest(
        request_id=request_id,
        solution_id=solution_id,
        partner_id=partner_id,
        travellers=[traveller_message(p, documents=True) for p in plan.travellers],
        **fields,  # type: ignore[arg-type]
    )


def _age(person: Person, on: date) -> int:
    born = person.birth_date
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def direct_sale_quote(partner_kind: str, plan: TripPlan) -> dict[str, Any]:
    """The reference protocol's quote body for this trip at a partner of `partner_kind`: what
    the customer asked for when buying there directly (a sandbox partner's `/_sandbox/sales`
    sells the first offer of it)."""
    ages = [_age(p, plan.depart) for p in plan.travellers]
    drivers = [age for p, age in zip(plan.travellers, ages, strict=True) if p.driver]
    if partner_kind == "airline":
        return {
            "origin": plan.travellers[0].home_airport,
            "destination": plan.destination_airport,
            "depart_date": plan.depart.isoformat(),
            "return_date": plan.back.isoformat(),
            "passengers": {
                "adults": sum(a >= 12 for a in ages),
                "children": sum(a < 12 for a in ages),
            },
            "cabin": "economy",
        }
    if partner_kind == "insurer":
        return {
            "destination_region": plan.destination_region,
            "start_date": plan.depart.isoformat(),
            "end_date": plan.back.isoformat(),
            "insured": [
                {"age": age, "residence_region": p.residence_region_code}
                for p, age in zip(plan.travellers, ages, strict=True)
            ],
        }
    if partner_kind == "car_rental":
        return {
            "pickup_location": plan.destination_airport,
            "pickup_date": plan.depart.isoformat(),
            "return_date": plan.back.isoformat(),
            "driver_age": max(drivers) if drivers else 0,
            "passengers": len(plan.travellers),
            "drivers": max(len(drivers), 1),
        }
    raise ValueError(f"no direct sale of {partner_kind} products")
