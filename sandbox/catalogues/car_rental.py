"""Car-rental catalogue: car classes at destination airports, in the local currency.

A rental day is 24 hours from pickup (same-day return counts one day); a week costs six
days. Drivers under 21 get no offers; drivers under 25 pay a young-driver surcharge per day
and cannot rent premium cars. Prices include the station's sales tax as `tax`.

A car must seat the whole party: only classes with enough seats are offered. When no class
does and the party has a second driver, it is offered two cars of a class (twice the price).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sandbox._fields import read_date, read_int, read_str, require_date_order
from sandbox._money import money, quantize
from sandbox._spec import PartnerSpec
from sandbox.catalogues._common import IATA_CODE, day_count, product_rating
from sandbox.catalogues._fleet import CLASSES, STATIONS, CarClass, Station

__all__ = ["CarRentalCatalogue"]

_MIN_AGE = 21
_YOUNG_UNTIL = 25
_MAX_DAYS = 90
_MAX_PARTY = 9


class CarRentalCatalogue:
    """Car classes at the airports the brand serves."""

    def __init__(self, spec: PartnerSpec) -> None:
        self._brand = spec.brand

    def quote(self, request: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        location = read_str(request, "pickup_location", pattern=IATA_CODE)
        pickup = read_date(request, "pickup_date")
        back = read_date(request, "return_date")
        require_date_order(pickup, back, "return_date", "pickup_date")
        age = read_int(request, "driver_age", low=0, high=120)
        passengers = read_int(request, "passengers", low=1, high=_MAX_PARTY, default=1)
        drivers = read_int(request, "drivers", low=1, high=_MAX_PARTY, default=1)
        days = max((back - pickup).days, 1)
        station = STATIONS.get(location)
        if station is None or not self._brand.serves(location):
            return []
        if age < _MIN_AGE or days > _MAX_DAYS:
            return []
        rentable = [car for car in CLASSES if age >= car.min_age]
        cars = 1
        fitting = [car for car in rentable if car.seats >= passengers]
        if not fitting and drivers >= 2:
            # One car per driver: two cars carry a party no single class seats.
            cars = 2
            fitting = [car for car in rentable if cars * car.seats >= passengers]
        return [self._offer(car, cars, location, station, days, age) for car in fitting]

    def _offer(
        self, car: CarClass, cars: int, location: str, station: Station, days: int, age: int
    ) -> dict[str, Any]:
        manual = car.manual_in_europe and station.market == "eu"
        acriss = f"{car.acriss}{'M' if manual else 'A'}R"
        charged_days = days - days // 7
        day_rate = quantize(
            station.economy_day_rate * car.factor * self._brand.price_factor, station.currency
        )
        base = day_rate * charged_days
        if age < _YOUNG_UNTIL:
            base += station.young_driver_day * days
        base = quantize(base, station.currency)
        # Rounded per car, so two cars cost exactly twice one.
        tax = quantize(base * station.tax_rate, station.currency)
        model = car.models[station.market]
        code = f"{self._brand.code}-{location}-{acriss}"
        title = f"{car.title} ({model} or similar), {day_count(days)} at {location}"
        return {
            "product_code": code if cars == 1 else f"{code}-X{cars}",
            "title": title if cars == 1 else f"{cars} × {title}",
            "price": money(station.currency, base * cars, tax * cars),
            "rating": product_rating(self._brand, code),
            "details": {
                "car_class": car.name,
                "example_model": model,
                "seats": car.seats * cars,
                "cars": cars,
                "transmission": "manual" if manual else "automatic",
                "rental_days": days,
                "pickup_location": location,
            },
        }
