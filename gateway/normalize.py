"""Entry events → one canonical `bundles.Trip`.

Each entry kind fills in what its partner knows; the rest comes from the travellers (home
region, preferred airport) and the reference geography (a region's primary airport). So the
same trip gives the same Trip — and so the same solution — whichever partner it entered at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bundles import TravellerFacts, Trip, geo
from gateway.composition.held import HeldReference
from gateway.errors import InvalidRequestError
from gateway.validation import MAX_REFERENCE_LENGTH, MAX_TRAVELLERS, Violations, age_on
from partnergateway.v1 import entry_pb2, solution_service_pb2

ComposeRequest = (
    solution_service_pb2.ComposeSolutionRequest | solution_service_pb2.StreamSolutionRequest
)

# Airlines do not carry, and insurers do not cover, children travelling alone.
ADULT_AGE = 18

# At most this many other held products per request: a trip has few bookings.
MAX_HELD_PRODUCTS = 5

# Which partner kind may report which entry event.
ENTRY_PARTNER_KIND = {
    "roaming": "telecom",
    "flight": "airline",
    "insurance": "insurer",
    "car": "car_rental",
}


# The entry event field that carries the customer's reference of a product they bought.
ENTRY_REFERENCE_FIELD = {
    "flight": "booking_reference",
    "insurance": "policy_number",
    "car": "rental_reference",
}


@dataclass(frozen=True)
class NormalizedRequest:
    trip: Trip
    entry_kind: str
    entry_partner_id: str
    request_id: str
    held: tuple[HeldReference, ...] = ()
    """The entry's own booking first (if it reports one), then `held_products`."""


@dataclass
class _Where:
    """What the entry event says of the trip; None where it says nothing."""

    destination_region: str | None = None
    destination_airport: str | None = None
    origin_airport: str | None = None
    depart: date | None = None
    back: date | None = None


def normalize(
    request: ComposeRequest, partner_kinds: Mapping[str, str], today: date
) -> NormalizedRequest:
    """Validates `request` completely and returns its trip; raises `InvalidRequestError`
    listing every problem. `partner_kinds` maps configured partner ids to their kinds."""
    v = Violations()
    v.request_id("request_id", request.request_id)
    v.language("language_code", request.language_code)
    entry = request.entry
    kind = entry.WhichOneof("event") if request.HasField("entry") else None
    if kind is None:
        v.add("entry", "exactly one entry event (roaming, flight, insurance or car) is required")
    elif v.partner_id("entry.partner_id", entry.partner_id):
        known = partner_kinds.get(entry.partner_id)
        if known is None:
            v.add("entry.partner_id", f"{entry.partner_id!r} is not a registered partner")
        elif known != ENTRY_PARTNER_KIND[kind]:
            v.add("entry.partner_id", f"a {known} partner cannot report a {kind} event")

    travellers = _travellers(request.travellers, v)
    where = _where(entry, kind, len(request.travellers), v, today) if kind else _Where()
    trip = _trip(where, request.travellers, travellers, v)
    held = _held(request, kind, partner_kinds, v)
    if v or trip is None or kind is None:
        raise InvalidRequestError(v.items)
    return NormalizedRequest(
        trip=trip,
        entry_kind=kind,
        entry_partner_id=entry.partner_id,
        request_id=request.request_id,
        held=held,
    )


def _held(
    request: ComposeRequest, kind: str | None, partner_kinds: Mapping[str, str], v: Violations
) -> tuple[HeldReference, ...]:
    refs: list[HeldReference] = []
    if kind in ENTRY_REFERENCE_FIELD:
        name = ENTRY_REFERENCE_FIELD[kind]
        reference = getattr(getattr(request.entry, kind), name)
        if reference:
            refs.append(
                HeldReference(
                    f"entry.{kind}.{name}", request.entry.partner_id, reference, from_entry=True
                )
            )
    if len(request.held_products) > MAX_HELD_PRODUCTS:
        v.add("held_products", f"at most {MAX_HELD_PRODUCTS}, got {len(request.held_products)}")
        return tuple(refs)
    for i, product in enumerate(request.held_products):
        at = f"held_products[{i}]"
        if v.partner_id(f"{at}.partner_id", product.partner_id) and (
            product.partner_id not in partner_kinds
        ):
            v.add(f"{at}.partner_id", f"{product.partner_id!r} is not a registered partner")
        v.text(f"{at}.reference", product.reference, required=True, limit=MAX_REFERENCE_LENGTH)
        refs.append(HeldReference(f"{at}.reference", product.partner_id, product.reference, False))
    return tuple(refs)


def _travellers(
    travellers: Sequence[entry_pb2.Traveller], v: Violations
) -> list[tuple[date | None, entry_pb2.Traveller]]:
    if not travellers:
        v.add("travellers", "at least one traveller is required")
    elif len(travellers) > MAX_TRAVELLERS:
        v.add("travellers", f"at most {MAX_TRAVELLERS} travellers, got {len(travellers)}")
        return []
    checked = []
    for i, t in enumerate(travellers):
        at = f"travellers[{i}]"
        v.text(f"{at}.given_name", t.given_name, required=True)
        v.text(f"{at}.family_name", t.family_name, required=True)
        v.region(f"{at}.residence_region_code", t.residence_region_code)
        v.airport(f"{at}.home_airport", t.home_airport, required=False)
        v.phone(f"{at}.phone_number", t.phone_number, required=False)
        v.document_number(f"{at}.passport_number", t.passport_number)
        v.document_number(f"{at}.driving_licence_number", t.driving_licence_number)
        checked.append((v.calendar_date(f"{at}.birth_date", t.birth_date, echo=False), t))
    return checked


def _where(
    entry: entry_pb2.EntryEvent, kind: str, traveller_count: int, v: Violations, today: date
) -> _Where:
    w = _Where()
    if kind == "roaming":
        e, at = entry.roaming, "entry.roaming"
        v.phone(f"{at}.subscriber_number", e.subscriber_number, required=True)
        w.destination_region = v.region(f"{at}.destination_region_code", e.destination_region_code)
        w.depart = v.calendar_date(f"{at}.start_date", e.start_date)
        w.back = v.calendar_date(f"{at}.end_date", e.end_date)
        v.trip_dates(f"{at}.start_date", w.depart, f"{at}.end_date", w.back, today)
    elif kind == "flight":
        f, at = entry.flight, "entry.flight"
        _reference(v, f"{at}.booking_reference", f.booking_reference)
        origin = v.airport(f"{at}.origin_airport", f.origin_airport)
        destination = v.airport(f"{at}.destination_airport", f.destination_airport)
        if origin and destination and origin.region_code == destination.region_code:
            v.add(f"{at}.destination_airport", "is in the same region as the origin")
        w.origin_airport = origin.code if origin else None
        w.destination_airport = destination.code if destination else None
        w.destination_region = destination.region_code if destination else None
        w.depart = v.calendar_date(f"{at}.depart_date", f.depart_date)
        w.back = v.calendar_date(f"{at}.return_date", f.return_date)
        v.trip_dates(f"{at}.depart_date", w.depart, f"{at}.return_date", w.back, today)
        _count(v, f"{at}.passenger_count", f.passenger_count, traveller_count)
    elif kind == "insurance":
        i, at = entry.insurance, "entry.insurance"
        _reference(v, f"{at}.policy_number", i.policy_number)
        w.destination_region = v.region(f"{at}.destination_region_code", i.destination_region_code)
        w.depart = v.calendar_date(f"{at}.cover_start_date", i.cover_start_date)
        w.back = v.calendar_date(f"{at}.cover_end_date", i.cover_end_date)
        v.trip_dates(f"{at}.cover_start_date", w.depart, f"{at}.cover_end_date", w.back, today)
        _count(v, f"{at}.insured_count", i.insured_count, traveller_count)
    else:
        c, at = entry.car, "entry.car"
        _reference(v, f"{at}.rental_reference", c.rental_reference)
        pickup = v.airport(f"{at}.pickup_location", c.pickup_location)
        w.destination_airport = pickup.code if pickup else None
        w.destination_region = pickup.region_code if pickup else None
        w.depart = v.calendar_date(f"{at}.pickup_date", c.pickup_date)
        w.back = v.calendar_date(f"{at}.return_date", c.return_date)
        v.trip_dates(f"{at}.pickup_date", w.depart, f"{at}.return_date", w.back, today)
    return w


def _reference(v: Violations, field: str, value: str) -> None:
    v.text(field, value, required=False, limit=MAX_REFERENCE_LENGTH)


def _count(v: Violations, field: str, value: int, traveller_count: int) -> None:
    if value and value != traveller_count:
        v.add(field, f"is {value} but {traveller_count} travellers are given")


def _traveller_facts(
    travellers: list[tuple[date | None, entry_pb2.Traveller]], depart: date | None, v: Violations
) -> list[TravellerFacts]:
    """Ages on the departure day, checked whatever else is wrong with the request, so one
    answer names every problem."""
    facts: list[TravellerFacts] = []
    if depart is None:
        return facts
    for i, (birth, t) in enumerate(travellers):
        if birth is None:
            continue
        age = age_on(birth, depart)
        if age < 0 or age > 120:
            v.add(f"travellers[{i}].birth_date", "gives an age outside 0 to 120 at departure")
        facts.append(
            TravellerFacts(age=age, driver=t.driver, residence_region=t.residence_region_code)
        )
    if facts and max(f.age for f in facts) < ADULT_AGE:
        v.add("travellers", f"at least one traveller must be {ADULT_AGE} or older at departure")
    return facts


def _trip(
    w: _Where,
    raw: Sequence[entry_pb2.Traveller],
    travellers: list[tuple[date | None, entry_pb2.Traveller]],
    v: Violations,
) -> Trip | None:
    facts = _traveller_facts(travellers, w.depart, v)
    if v or not travellers or w.depart is None or w.back is None or not w.destination_region:
        return None
    lead = raw[0]
    home_region = lead.residence_region_code
    if w.destination_region == home_region:
        v.add("travellers[0].residence_region_code", "the destination is the home region")
        return None
    origin = w.origin_airport or lead.home_airport or geo.primary_airport(home_region)
    destination = w.destination_airport or geo.primary_airport(w.destination_region)
    if origin is None:
        v.add("travellers[0].home_airport", f"is required: no default airport in {home_region}")
    if destination is None:
        v.add("entry", f"no airport is served in {w.destination_region}")
    if v or origin is None or destination is None:
        return None
    return Trip(
        home_region=home_region,
        origin_airport=origin,
        destination_region=w.destination_region,
        destination_airport=destination,
        depart_date=w.depart,
        return_date=w.back,
        travellers=tuple(facts),
    )
