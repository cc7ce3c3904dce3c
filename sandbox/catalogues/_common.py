"""Small helpers every built-in catalogue shares."""

from __future__ import annotations

from decimal import Decimal

from sandbox._catalogue import stable_int
from sandbox._spec import Brand

__all__ = ["IATA_CODE", "REGION_CODE", "product_rating"]

#: A CLDR region code as the protocol writes it (`JP`).
REGION_CODE = r"[A-Z]{2}"
#: An IATA airport code (`NRT`).
IATA_CODE = r"[A-Z]{3}"

_TENTH = Decimal("0.1")


def product_rating(brand: Brand, *salt: str) -> float:
    """The brand's rating nudged by -0.2..+0.2 per product, so products differ but stay stable.

    A float because the protocol's `rating` is a JSON number; it is a score, not money.
    """
    nudge = Decimal(stable_int(brand.code, *salt) % 5 - 2) * _TENTH
    rating = min(Decimal(5), max(Decimal(0), brand.rating + nudge))
    return float(rating.quantize(_TENTH))


def day_count(days: int) -> str:
    """`1 day`, `7 days`: product titles are read by people."""
    return f"{days} day" if days == 1 else f"{days} days"
