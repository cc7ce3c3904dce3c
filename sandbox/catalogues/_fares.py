"""Airline fare rules: distance, cabin, season, weekday and slot factors; taxes per passenger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sandbox._spec import Brand

__all__ = ["leg_fare", "passenger_taxes"]

_CABIN_FACTORS = {
    "economy": Decimal("1.0"),
    "premium_economy": Decimal("1.7"),
    "business": Decimal("3.6"),
    "first": Decimal("6.0"),
}
# Fri and Sun fly full, Tue and Wed empty (Monday = 0).
_WEEKDAY_FACTORS = (
    Decimal("1.00"),
    Decimal("0.92"),
    Decimal("0.92"),
    Decimal("1.00"),
    Decimal("1.10"),
    Decimal("1.05"),
    Decimal("1.10"),
)
_PEAK = Decimal("1.35")
_LOW = Decimal("0.85")
# Departure taxes collected at the destination airport, in CNY per passenger.
_DESTINATION_TAX = {
    "JP": Decimal(50),
    "KR": Decimal(140),
    "TH": Decimal(160),
    "SG": Decimal(310),
    "AU": Decimal(340),
    "FR": Decimal(190),
    "DE": Decimal(230),
    "GB": Decimal(830),
    "US": Decimal(290),
}
# China's international airport fee, CNY per departing passenger.
_CN_AIRPORT_FEE = Decimal(90)


def season_factor(day: date) -> Decimal:
    """Peak: summer holidays, Spring Festival (approximated as 15 Jan–20 Feb), Golden Week,
    Christmas–New Year; low: March and November."""
    month_day = (day.month, day.day)
    if (
        day.month in (7, 8)
        or (1, 15) <= month_day <= (2, 20)
        or (10, 1) <= month_day <= (10, 7)
        or month_day >= (12, 20)
    ):
        return _PEAK
    if day.month in (3, 11):
        return _LOW
    return Decimal("1.00")


def _distance_fare(km: int) -> Decimal:
    # Short legs cost more per km than long ones.
    near, far = min(km, 3000), max(km - 3000, 0)
    return Decimal(300) + Decimal("0.55") * near + Decimal("0.28") * far


def _slot_factor(slot: int, slots: int) -> Decimal:
    if slot == 0:
        return Decimal("1.05")  # the morning (or first) departure sells best
    if slot == slots - 1:
        return Decimal("0.95")
    return Decimal("1.00")


def leg_fare(km: int, cabin: str, day: date, slot: int, slots: int, brand: Brand) -> Decimal:
    """One adult's fare for one leg, in whole CNY."""
    fare = (
        _distance_fare(km)
        * _CABIN_FACTORS[cabin]
        * season_factor(day)
        * _WEEKDAY_FACTORS[day.weekday()]
        * _slot_factor(slot, slots)
        * brand.price_factor
    )
    return fare.quantize(Decimal(1))


def _fuel_surcharge(km: int) -> Decimal:
    if km < 3000:
        return Decimal(120)
    if km < 6000:
        return Decimal(310)
    return Decimal(580)


def passenger_taxes(km: int, destination_region: str) -> Decimal:
    """Taxes and surcharges for one passenger's round trip, in CNY."""
    return (
        _CN_AIRPORT_FEE
        + _DESTINATION_TAX.get(destination_region, Decimal(200))
        + 2 * _fuel_surcharge(km)
    )
