"""Airline catalogue: round trips from the Chinese hubs, priced for every passenger in CNY.

Each route has a few daily departures at fixed local times; fares grow with distance and
vary with the cabin, the season and weekday of each leg's date, and the departure slot.
Children (under 12) pay 75 % of the adult fare; every passenger pays airport taxes and a
fuel surcharge. A round trip whose outbound flight leaves within the check-in margin of the
partner's clock is no longer sold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sandbox._catalogue import stable_int
from sandbox._clock import Clock, system_clock
from sandbox._errors import CatalogueError
from sandbox._fields import read_date, read_int, read_object, read_str, require_date_order
from sandbox._geo import AIRPORTS, CHINESE_HUBS, Airport, distance_km
from sandbox._money import money
from sandbox._spec import PartnerSpec
from sandbox.catalogues._common import IATA_CODE, product_rating
from sandbox.catalogues._fares import leg_fare, passenger_taxes

__all__ = ["CHECK_IN_MARGIN", "AirlineCatalogue"]

_CURRENCY = "CNY"
_CABINS: dict[str, tuple[str, str]] = {  # cabin → (booking class letter, title)
    "economy": ("Y", "economy"),
    "premium_economy": ("W", "premium economy"),
    "business": ("J", "business"),
    "first": ("F", "first"),
}
_LONG_HAUL_KM = 5000
# Local departure times: outbound at the hub, inbound at the destination.
_SHORT_SLOTS = (("08:25", "10:05"), ("13:10", "15:30"), ("18:45", "20:20"))
_LONG_SLOTS = (("01:40", "11:50"), ("13:20", "21:30"))
# Flight-number blocks per hub; inbound numbers are the outbound number + 1.
_HUB_BLOCKS = {"PEK": 100, "CAN": 300, "PVG": 500, "SZX": 700}
_DESTINATIONS = tuple(code for code in AIRPORTS if code not in CHINESE_HUBS)
# A connection shorter than this between arriving and flying back is not sold.
_MIN_STAY = timedelta(hours=3)
# Check-in closes before departure: a flight leaving sooner than this is no longer sold.
CHECK_IN_MARGIN = timedelta(hours=2)
_MAX_PASSENGERS = 9


@dataclass(frozen=True)
class _Segment:
    flight_number: str
    origin: Airport
    destination: Airport
    departs_at: datetime
    arrives_at: datetime

    def to_json(self) -> dict[str, str]:
        return {
            "flight_number": self.flight_number,
            "origin": self.origin.code,
            "destination": self.destination.code,
            "departs_at": self.departs_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "arrives_at": self.arrives_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


@dataclass(frozen=True)
class _Trip:
    origin: Airport
    destination: Airport
    km: int
    depart: date
    back: date
    adults: int
    children: int
    cabin: str


def _block_minutes(km: int, eastbound: bool) -> int:
    # ~820 km/h plus taxi and climb; tail winds make eastbound legs shorter.
    minutes = (km / 820 * 60 + 35) * (0.94 if eastbound else 1.06)
    return round(minutes / 5) * 5


def _eastbound(a: Airport, b: Airport) -> bool:
    return ((b.lon - a.lon + 180) % 360) - 180 > 0


def _departure(day: date, local: str, airport: Airport, shift_min: int) -> datetime:
    hours, minutes = map(int, local.split(":"))
    departs = datetime.combine(day, time(hours, minutes), airport.tz)
    return (departs + timedelta(minutes=shift_min)).astimezone(UTC)


class AirlineCatalogue:
    """Round trips from CAN, PVG, PEK and SZX to the destinations the brand serves."""

    def __init__(self, spec: PartnerSpec, clock: Clock = system_clock) -> None:
        self._brand = spec.brand
        self._clock = clock

    def quote(self, request: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        origin_code = read_str(request, "origin", pattern=IATA_CODE)
        destination_code = read_str(request, "destination", pattern=IATA_CODE)
        if origin_code == destination_code:
            raise CatalogueError("destination is the origin", "destination")
        depart = read_date(request, "depart_date")
        back = read_date(request, "return_date")
        require_date_order(depart, back, "return_date", "depart_date")
        passengers = read_object(request, "passengers")
        adults = read_int(passengers, "adults", low=1, high=9, path="passengers.adults")
        children = read_int(
            passengers, "children", low=0, high=8, default=0, path="passengers.children"
        )
        if adults + children > _MAX_PASSENGERS:
            raise CatalogueError(f"at most {_MAX_PASSENGERS} passengers", "passengers")
        cabin = read_str(request, "cabin", choices=tuple(_CABINS), default="economy")

        if origin_code not in CHINESE_HUBS or destination_code not in _DESTINATIONS:
            return []
        if not self._brand.serves(origin_code, destination_code):
            return []
        origin, destination = AIRPORTS[origin_code], AIRPORTS[destination_code]
        km = distance_km(origin, destination)
        if cabin == "first" and km < _LONG_HAUL_KM:
            return []  # first class flies long-haul only
        trip = _Trip(origin, destination, km, depart, back, adults, children, cabin)
        on_sale_from = datetime.fromtimestamp(self._clock(), UTC) + CHECK_IN_MARGIN
        return [
            offer
            for slot in range(self._slot_count(km))
            if (offer := self._offer(trip, slot, on_sale_from))
        ]

    @staticmethod
    def _slot_count(km: int) -> int:
        return len(_LONG_SLOTS if km >= _LONG_HAUL_KM else _SHORT_SLOTS)

    def _offer(self, trip: _Trip, slot: int, on_sale_from: datetime) -> dict[str, Any] | None:
        """The round trip of `slot`, unless its outbound leaves before `on_sale_from` or the
        stay between the legs is too short."""
        outbound, inbound = self._segments(trip, slot)
        if outbound.departs_at < on_sale_from:
            return None
        if inbound.departs_at < outbound.arrives_at + _MIN_STAY:
            return None
        slots = self._slot_count(trip.km)
        cabin_letter, cabin_title = _CABINS[trip.cabin]
        base = Decimal(0)
        for day in (trip.depart, trip.back):  # each leg at its own (local) date's fare
            adult = leg_fare(trip.km, trip.cabin, day, slot, slots, self._brand)
            child = (adult * Decimal("0.75")).quantize(Decimal(1))
            base += adult * trip.adults + child * trip.children
        tax = passenger_taxes(trip.km, trip.destination.region) * (trip.adults + trip.children)
        code = f"{outbound.flight_number}-{inbound.flight_number}-{cabin_letter}"
        return {
            "product_code": code,
            "title": (
                f"{trip.origin.city} ({trip.origin.code}) – {trip.destination.city} "
                f"({trip.destination.code}) return, {cabin_title}, "
                f"{outbound.flight_number}/{inbound.flight_number}"
            ),
            "price": money(_CURRENCY, base, tax),
            "rating": product_rating(self._brand, outbound.flight_number),
            "details": {
                "cabin": trip.cabin,
                "passengers": trip.adults + trip.children,
                "outbound": outbound.to_json(),
                "inbound": inbound.to_json(),
            },
        }

    def _segments(self, trip: _Trip, slot: int) -> tuple[_Segment, _Segment]:
        origin, destination = trip.origin, trip.destination
        local_out, local_in = (_LONG_SLOTS if trip.km >= _LONG_HAUL_KM else _SHORT_SLOTS)[slot]
        # Competing airlines fly the same route a few minutes apart.
        shift = stable_int(self._brand.code, origin.code, destination.code) % 7 * 5
        number = _HUB_BLOCKS[origin.code] + _DESTINATIONS.index(destination.code) * 8 + slot * 2
        east = _eastbound(origin, destination)
        out_departs = _departure(trip.depart, local_out, origin, shift)
        in_departs = _departure(trip.back, local_in, destination, shift)
        outbound = _Segment(
            f"{self._brand.code}{number + 1}",
            origin,
            destination,
            out_departs,
            out_departs + timedelta(minutes=_block_minutes(trip.km, east)),
        )
        inbound = _Segment(
            f"{self._brand.code}{number + 2}",
            destination,
            origin,
            in_departs,
            in_departs + timedelta(minutes=_block_minutes(trip.km, not east)),
        )
        return outbound, inbound
