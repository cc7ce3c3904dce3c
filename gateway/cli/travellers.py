"""Travellers on the command line: `--traveller "age=35,driver,residence=CN"` for `compose`,
and the travellers `book` sends for a solution.

A composition needs only each traveller's age, whether they drive and where they live; the
command line fills in placeholder names. Booking needs documents the command line does not
have, so `book` sends the sample family when the solution was composed for it (the default),
and otherwise sample travellers made to match the solution's (same ages, drivers and
residences): the command line books against the sandbox, not for real people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from bundles import geo
from gateway.client.journeys import Person, sample_family
from partnergateway.v1 import solution_pb2

__all__ = [
    "TRAVELLER_HELP",
    "booking_travellers",
    "parse_traveller",
    "with_home_airport",
]

TRAVELLER_HELP = (
    'One traveller: "age=35,driver,residence=CN" (age on departure; driver and residence '
    "are optional, residence defaults to CN). Repeat per traveller; the first is the lead. "
    "Default: the sample family (two adults, one of them a driver, and a child)."
)
_MAX_AGE = 120
_DEFAULT_RESIDENCE = "CN"
# The lead traveller's mobile number: a roaming entry reports it (sandbox numbers only).
_SAMPLE_PHONE = "+8613800138000"


def parse_traveller(spec: str, index: int, depart: date) -> Person:
    """A traveller from `spec`, born so that they are `age` on `depart`; ValueError says what
    is wrong with the spec."""
    age: int | None = None
    driver = False
    residence = _DEFAULT_RESIDENCE
    for raw in spec.split(","):
        item = raw.strip()
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if name == "driver" and not sep:
            driver = True
        elif name == "age" and sep:
            if not value.strip().isdigit() or int(value) > _MAX_AGE:
                raise ValueError(f"age must be a whole number from 0 to {_MAX_AGE}, not {value!r}")
            age = int(value)
        elif name == "residence" and sep:
            residence = value.strip().upper()
            if not geo.is_region_code(residence):
                raise ValueError(f"residence {value!r} is not a region code (for example CN)")
        elif item:
            raise ValueError(f"{item!r} is not age=N, driver or residence=CC")
    if age is None:
        raise ValueError(f"{spec!r} gives no age (age=N)")
    return _placeholder(index, age, driver, residence, depart)


def with_home_airport(travellers: Sequence[Person], airport: str) -> tuple[Person, ...]:
    """The travellers flying from `airport` (the lead's home airport is the trip's origin)."""
    return tuple(replace(p, home_airport=airport) for p in travellers)


def booking_travellers(trip: solution_pb2.Trip) -> tuple[tuple[Person, ...], bool]:
    """The travellers to book `trip` with, and whether they are placeholders (not the sample
    family): the gateway checks they match the travellers the trip was composed for."""
    depart = date(trip.depart_date.year, trip.depart_date.month, trip.depart_date.day)
    family = sample_family()
    profiles = [(p.age, p.driver, p.residence_region_code) for p in trip.travellers]
    composed_for = [(_age(p.birth_date, depart), p.driver, p.residence_region_code) for p in family]
    if profiles == composed_for:
        return family, False
    made = tuple(
        _placeholder(i, age, driver, residence or _DEFAULT_RESIDENCE, depart)
        for i, (age, driver, residence) in enumerate(profiles)
    )
    return made, True


def _placeholder(index: int, age: int, driver: bool, residence: str, depart: date) -> Person:
    number = index + 1
    return Person(
        given_name="Traveller",
        family_name=f"Number {number}",
        # Born on the 1st of the departure month: exactly `age` on any day of that month.
        birth_date=date(depart.year - age, depart.month, 1),
        driver=driver,
        residence_region_code=residence,
        # Flights leave from the airport of home unless `--from` says otherwise.
        home_airport=geo.primary_airport(residence) or "",
        phone_number=_SAMPLE_PHONE if index == 0 else "",
        passport_number=f"SX{number:07d}",
        driving_licence_number=f"SL{number:07d}" if driver else "",
    )


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
