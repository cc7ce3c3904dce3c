"""Ordering a component's offers by the recipe's selection policy. The first one wins."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from adapters import Offer
from bundles import SelectionPolicy

_KEYS: dict[str, Callable[[Offer], Any]] = {
    # Totals only compare within a currency, so the currency code leads the key.
    "total": lambda o: (o.price.currency_code, o.price.total),
    "rating": lambda o: o.rating,
    "partner_id": lambda o: o.partner_id,
    "offer_id": lambda o: o.offer_id,
}


class _Desc:
    """Reverses the order of one sort key."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]


def order_offers(offers: Iterable[Offer], policy: SelectionPolicy) -> list[Offer]:
    """Offers best first; fully deterministic (ties end at partner id and offer id)."""

    def key(offer: Offer) -> tuple[Any, ...]:
        parts: list[Any] = []
        for name in (*policy.order_by, "partner_id", "offer_id"):
            descending = name.startswith("-")
            value = _KEYS[name.lstrip("-")](offer)
            parts.append(_Desc(value) if descending else value)
        return tuple(parts)

    return sorted(offers, key=key)
