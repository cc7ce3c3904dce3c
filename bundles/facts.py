"""What a component's chosen (or held) offer tells the components that depend on it.

A recipe parameter may read `$component.<kind>.<fact>`: the car is picked up on the day the
flight lands, insurance covers the days actually travelled. Facts come from the offer's
attributes, per partner kind. Before the offer is known, the *provisional* facts follow the
trip's booked dates; a dependent is quoted on those at once and re-asked only when the chosen
offer's facts change its parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bundles import geo
from bundles.trip import Trip

Facts = dict[str, Any]


class FactsError(ValueError):
    """An offer lacks an attribute its kind's facts need (or it is malformed)."""


def _instant(attributes: Mapping[str, str], key: str) -> datetime:
    value = attributes.get(key)
    if not value:
        raise FactsError(f"missing attribute {key}")
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FactsError(f"attribute {key} is not an instant: {value!r}") from exc
    if instant.tzinfo is None:
        raise FactsError(f"attribute {key} has no time zone: {value!r}")
    return instant


def _local(attributes: Mapping[str, str], instant_key: str, airport_key: str) -> datetime:
    code = attributes.get(airport_key, "")
    airport = geo.airport(code)
    if airport is None:
        raise FactsError(f"attribute {airport_key} is not a known airport: {code!r}")
    return airport.local(_instant(attributes, instant_key))


def flight_facts(attributes: Mapping[str, str]) -> Facts:
    """Local dates and times of a round trip, each at the airport where it happens."""
    leaves = _local(attributes, "outbound_departs_at", "outbound_origin")
    lands = _local(attributes, "outbound_arrives_at", "outbound_destination")
    flies_back = _local(attributes, "inbound_departs_at", "inbound_origin")
    home = _local(attributes, "inbound_arrives_at", "inbound_destination")
    return {
        "departure_date": leaves.date().isoformat(),
        "arrival_date": lands.date().isoformat(),
        "arrival_time": lands.strftime("%H:%M"),
        "return_departure_date": flies_back.date().isoformat(),
        "return_departure_time": flies_back.strftime("%H:%M"),
        "home_arrival_date": home.date().isoformat(),
    }


def provisional_flight_facts(trip: Trip) -> Facts:
    """The flight as the booked dates suggest: it lands the day it leaves, and is home the day
    it flies back (times unknown)."""
    return {
        "departure_date": trip.depart_date.isoformat(),
        "arrival_date": trip.depart_date.isoformat(),
        "arrival_time": "",
        "return_departure_date": trip.return_date.isoformat(),
        "return_departure_time": "",
        "home_arrival_date": trip.return_date.isoformat(),
    }


# Partner kind → (facts of an offer, provisional facts). Kinds not listed expose no facts.
_KINDS: dict[str, tuple[Callable[[Mapping[str, str]], Facts], Callable[[Trip], Facts]]] = {
    "airline": (flight_facts, provisional_flight_facts),
}


def has_facts(partner_kind: str) -> bool:
    return partner_kind in _KINDS


def offer_facts(partner_kind: str, attributes: Mapping[str, str]) -> Facts:
    """The facts of a chosen or held offer; raises `FactsError` when they cannot be read."""
    return _KINDS[partner_kind][0](attributes) if partner_kind in _KINDS else {}


def provisional_facts(partner_kind: str, trip: Trip) -> Facts:
    return _KINDS[partner_kind][1](trip) if partner_kind in _KINDS else {}


def trip_places(partner_kind: str, attributes: Mapping[str, str]) -> dict[str, str]:
    """Where a held product says the trip really goes: for a flight, the airports it leaves
    from and lands at (`origin_airport`, `destination_airport`); empty for other kinds."""
    if partner_kind != "airline":
        return {}
    return {
        "origin_airport": attributes.get("outbound_origin", ""),
        "destination_airport": attributes.get("outbound_destination", ""),
    }
