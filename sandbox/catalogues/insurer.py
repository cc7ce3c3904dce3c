"""Insurer catalogue: travel policies for residents of China, priced in CNY.

Two plans (basic, comprehensive) per destination zone; the premium is a daily rate per
person that falls for long trips, scaled by each insured person's age band, with a minimum
premium per person. Short-term travel policies carry no VAT.

A policy covers every eligible person of the party (residents of China up to 80); the
others are listed in `details.not_covered` and cost nothing, so a family with one foreign
resident or one grandparent still gets a policy for the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox._fields import read_date, read_int, read_objects, read_str, require_date_order
from sandbox._geo import region_zone
from sandbox._money import money, quantize
from sandbox._spec import PartnerSpec
from sandbox.catalogues._common import REGION_CODE, day_count, product_rating

__all__ = ["InsurerCatalogue"]

_CURRENCY = "CNY"
_RESIDENCE = "CN"
_MAX_DAYS = 180
_MAX_AGE = 80


@dataclass(frozen=True)
class _Plan:
    name: str
    title: str
    medical_cover: str
    minimum: Decimal
    daily: Mapping[str, Decimal]  # zone → CNY per person per day


_PLANS = (
    _Plan(
        "basic",
        "Basic",
        "300000",
        Decimal(30),
        {
            "asia": Decimal("6.0"),
            "europe": Decimal("9.0"),
            "americas": Decimal("14.0"),
            "oceania": Decimal("10.0"),
            "worldwide": Decimal("15.0"),
        },
    ),
    _Plan(
        "comprehensive",
        "Comprehensive",
        "1000000",
        Decimal(50),
        {
            "asia": Decimal("11.0"),
            "europe": Decimal("16.0"),
            "americas": Decimal("26.0"),
            "oceania": Decimal("18.0"),
            "worldwide": Decimal("28.0"),
        },
    ),
)


def _age_factor(age: int) -> Decimal:
    if age < 18:
        return Decimal("0.7")
    if age < 60:
        return Decimal("1.0")
    if age < 70:
        return Decimal("1.6")
    return Decimal("2.5")


def _refusal(age: int, residence: str) -> str | None:
    """Why a person cannot be covered (a protocol `not_covered` reason), or None."""
    if residence != _RESIDENCE:
        return "residence_not_covered"
    if age > _MAX_AGE:
        return "age_not_covered"
    return None


def _rated_days(days: int) -> Decimal:
    """Days as the tariff counts them: full rate for a week, then 80 %, after a month 60 %."""
    week, month, rest = min(days, 7), min(max(days - 7, 0), 23), max(days - 30, 0)
    return Decimal(week) + Decimal("0.8") * month + Decimal("0.6") * rest


class InsurerCatalogue:
    """Travel insurance covering every eligible insured person for every day of the trip."""

    def __init__(self, spec: PartnerSpec) -> None:
        self._brand = spec.brand

    def quote(self, request: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        destination = read_str(request, "destination_region", pattern=REGION_CODE)
        start = read_date(request, "start_date")
        end = read_date(request, "end_date")
        require_date_order(start, end, "end_date", "start_date")
        ages: list[int] = []
        residences: list[str] = []
        for path, person in read_objects(request, "insured", low=1, high=9):
            ages.append(read_int(person, "age", low=0, high=120, path=f"{path}.age"))
            residences.append(
                read_str(
                    person,
                    "residence_region",
                    pattern=REGION_CODE,
                    path=f"{path}.residence_region",
                )
            )
        days = (end - start).days + 1
        if destination == _RESIDENCE:
            return []  # outbound travel only
        if days > _MAX_DAYS or not self._brand.serves(destination):
            return []  # a policy covers every day of the trip, or it is not sold
        covered: list[int] = []
        not_covered: list[dict[str, Any]] = []
        for index, (age, residence) in enumerate(zip(ages, residences, strict=True)):
            reason = _refusal(age, residence)
            if reason is None:
                covered.append(age)
            else:
                not_covered.append({"index": index, "reason": reason})
        if not covered:
            return []
        zone = region_zone(destination)
        return [self._offer(plan, zone, days, covered, not_covered) for plan in _PLANS]

    def _offer(
        self,
        plan: _Plan,
        zone: str,
        days: int,
        ages: list[int],
        not_covered: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """The policy for the covered persons (`ages`); the others are named, not priced."""
        per_day = plan.daily[zone] * _rated_days(days)
        premium = sum((max(plan.minimum, per_day * _age_factor(age)) for age in ages), Decimal(0))
        base = quantize(premium * self._brand.price_factor, _CURRENCY)
        code = f"{self._brand.code}-TRV-{plan.name[:4].upper()}-{zone.upper()}"
        offer: dict[str, Any] = {
            "product_code": code,
            "title": f"{plan.title} travel insurance, {zone.capitalize()}, {day_count(days)}",
            "price": money(_CURRENCY, base, Decimal(0)),
            "rating": product_rating(self._brand, code),
            "details": {
                "plan": plan.name,
                "medical_cover": plan.medical_cover,
                "cover_currency": _CURRENCY,
                "insured": len(ages),
                "days": days,
            },
        }
        if not_covered:  # left out when everyone is covered: those answers stay as they were
            offer["details"]["not_covered"] = [dict(item) for item in not_covered]
        return offer
