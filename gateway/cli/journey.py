"""A customer's trip, and the entry event each partner kind would send for it.

Used by `demo` and `compose`, and by the tests to show that the four entries agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from google.type import date_pb2

from partnergateway.v1 import entry_pb2, solution_service_pb2

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


def sample_family() -> tuple[Person, ...]:
    return (
        Person("Wei", "Li", date(1988, 3, 14), driver=True, phone_number="+8613800138000"),
        Person("Min", "Zhang", date(1990, 7, 2)),
        Person("Xiaoyu", "Li", date(2017, 5, 20)),
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


def entry_event(kind: str, plan: TripPlan, partner_id: str) -> entry_pb2.EntryEvent:
    """The event `partner_id` (of the matching kind) would report for this trip."""
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
                destination_region_code=plan.destination_region,
                cover_start_date=_date(plan.depart),
                cover_end_date=_date(plan.back),
                insured_count=count,
            )
        )
    elif kind == "car":
        event.car.CopyFrom(
            entry_pb2.CarRental(
                pickup_location=plan.destination_airport,
                pickup_date=_date(plan.depart),
                return_date=_date(plan.back),
            )
        )
    else:
        raise ValueError(f"unknown entry kind {kind!r}; one of {', '.join(ENTRY_KINDS)}")
    return event


def traveller_message(person: Person) -> entry_pb2.Traveller:
    return entry_pb2.Traveller(
        given_name=person.given_name,
        family_name=person.family_name,
        birth_date=_date(person.birth_date),
        residence_region_code=person.residence_region_code,
        home_airport=person.home_airport,
        driver=person.driver,
        phone_number=person.phone_number,
    )


def compose_request(
    kind: str, plan: TripPlan, partner_id: str | None = None, request_id: str = ""
) -> solution_service_pb2.ComposeSolutionRequest:
    return solution_service_pb2.ComposeSolutionRequest(
        request_id=request_id,
        entry=entry_event(kind, plan, partner_id or DEFAULT_ENTRY_PARTNERS[kind]),
        travellers=[traveller_message(p) for p in plan.travellers],
        language_code="en",
    )
