"""Telecom catalogue: roaming packs of a Chinese operator, priced per line in CNY.

Packs are sold per destination zone (Asia, Europe, Americas, Oceania) and as worldwide
packs; an offer is every pack whose validity covers each day of the trip (inclusive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox._fields import read_date, read_int, read_str, require_date_order
from sandbox._geo import region_zone
from sandbox._money import money, quantize
from sandbox._spec import PartnerSpec
from sandbox.catalogues._common import REGION_CODE, product_rating

__all__ = ["TelecomCatalogue"]

_HOME_REGION = "CN"
_CURRENCY = "CNY"
# Value-added telecom services carry 6 % VAT in China.
_VAT = Decimal("0.06")


@dataclass(frozen=True)
class _Pack:
    zone: str
    validity_days: int
    data_gb: int
    voice_minutes: int
    price_per_line: Decimal


def _zone_packs(zone: str, prices: tuple[str, str, str, str]) -> tuple[_Pack, ...]:
    sizes = ((3, 3, 30), (7, 10, 100), (15, 20, 200), (30, 30, 300))
    return tuple(
        _Pack(zone, days, gb, minutes, Decimal(price))
        for (days, gb, minutes), price in zip(sizes, prices, strict=True)
    )


_PACKS: tuple[_Pack, ...] = (
    *_zone_packs("asia", ("68", "128", "198", "298")),
    *_zone_packs("europe", ("88", "168", "258", "368")),
    *_zone_packs("americas", ("98", "188", "288", "398")),
    *_zone_packs("oceania", ("98", "178", "268", "388")),
    _Pack("worldwide", 7, 5, 50, Decimal("228")),
    _Pack("worldwide", 30, 15, 200, Decimal("498")),
    _Pack("worldwide", 90, 30, 500, Decimal("898")),
)

_ZONE_TITLES = {
    "asia": "Asia",
    "europe": "Europe",
    "americas": "Americas",
    "oceania": "Oceania",
    "worldwide": "Worldwide",
}


class TelecomCatalogue:
    """Roaming packs for subscribers at home in China travelling anywhere abroad."""

    def __init__(self, spec: PartnerSpec) -> None:
        self._brand = spec.brand

    def quote(self, request: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        home = read_str(request, "home_region", pattern=REGION_CODE)
        destination = read_str(request, "destination_region", pattern=REGION_CODE)
        start = read_date(request, "start_date")
        end = read_date(request, "end_date")
        require_date_order(start, end, "end_date", "start_date")
        lines = read_int(request, "lines", low=1, high=10)
        if "subscriber_number" in request:
            read_str(request, "subscriber_number", pattern=r"\+[1-9]\d{7,14}")
        if home != _HOME_REGION or destination == _HOME_REGION:
            return []  # only our own subscribers, only abroad
        if not self._brand.serves(destination):
            return []
        days = (end - start).days + 1
        zone = region_zone(destination)
        return [
            self._offer(pack, lines)
            for pack in _PACKS
            if pack.zone in (zone, "worldwide") and pack.validity_days >= days
        ]

    def _offer(self, pack: _Pack, lines: int) -> dict[str, Any]:
        code = f"ROAM-{pack.zone.upper()}-{pack.validity_days}D-{pack.data_gb}GB"
        base = quantize(pack.price_per_line * lines * self._brand.price_factor, _CURRENCY)
        return {
            "product_code": code,
            "title": (
                f"{_ZONE_TITLES[pack.zone]} roaming {pack.validity_days} days, {pack.data_gb} GB"
            ),
            "price": money(_CURRENCY, base, base * _VAT),
            "rating": product_rating(self._brand, code),
            "details": {
                "zone": pack.zone,
                "validity_days": pack.validity_days,
                "data_gb": pack.data_gb,
                "voice_minutes": pack.voice_minutes,
                "lines": lines,
            },
        }
