"""Reading a reference-protocol partner's answers into the adapter's values.

Everything is checked, not trusted: an answer that does not have the protocol's shape is a
`PartnerProtocolError`, never a half-filled value for the gateway to trip over later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters._currencies import check_currency_code
from adapters._errors import PartnerProtocolError
from adapters._model import BookingStatus, HeldBooking, NotCovered, Offer, Price

__all__ = ["Attributes", "parse_booking", "parse_instant", "parse_offers", "parse_price"]

#: A kind's choice of offer `details` shown to people, as strings.
Attributes = Callable[[Mapping[str, Any]], dict[str, str]]

# Reasons are codes for machines (and keys of message catalogues), never sentences.
_REASON = re.compile(r"[a-z][a-z_]{0,39}")
_MALFORMED = (KeyError, TypeError, ValueError, InvalidOperation)


def parse_offers(partner_id: str, payload: Any, attributes: Attributes) -> list[Offer]:
    """Validates a `{"offers": [...]}` answer; anything malformed is a protocol error."""
    try:
        raw_offers = payload["offers"]
        if not isinstance(raw_offers, list):
            raise TypeError("offers is not a list")
        return [_parse_offer(partner_id, raw, attributes) for raw in raw_offers]
    except _MALFORMED as exc:
        raise PartnerProtocolError(partner_id, f"malformed offers: {exc!r}") from exc


def parse_booking(partner_id: str, payload: Any, attributes: Attributes) -> HeldBooking:
    """Validates an answer to `GET /v1/bookings/{reference}`."""
    try:
        if not isinstance(payload, Mapping):
            raise TypeError("booking is not an object")
        return HeldBooking(
            partner_id=partner_id,
            reference=_text(payload, "reference", empty_ok=False),
            status=BookingStatus(payload["status"]),
            offer_id=_text(payload, "offer_id"),
            product_code=_text(payload, "product_code"),
            title=_text(payload, "title"),
            price=parse_price(payload["price"]),
            attributes=attributes(_details(payload)),
            traveller_count=_count(payload.get("traveller_count")),
        )
    except _MALFORMED as exc:
        raise PartnerProtocolError(partner_id, f"malformed booking: {exc!r}") from exc


def parse_price(raw: Mapping[str, Any]) -> Price:
    """Protocol Money; raises ValueError/TypeError/KeyError when it is not."""
    # A made-up currency would be summed into totals of its own and shown to customers.
    currency = check_currency_code(raw["currency_code"])
    base, tax = Decimal(str(raw["base"])), Decimal(str(raw["tax"]))
    if not (base.is_finite() and tax.is_finite()) or base < 0 or tax < 0:
        raise ValueError("price must be finite and not negative")
    return Price(currency_code=currency, base=base, tax=tax)


def parse_instant(value: str) -> datetime:
    """An RFC 3339 instant; one without a time zone is refused (ValueError)."""
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return instant


def _parse_offer(partner_id: str, raw: Mapping[str, Any], attributes: Attributes) -> Offer:
    details = _details(raw)
    return Offer(
        partner_id=partner_id,
        offer_id=str(raw["offer_id"]),
        product_code=str(raw["product_code"]),
        title=str(raw["title"]),
        price=parse_price(raw["price"]),
        rating=float(raw.get("rating", 0.0)),
        expires_at=parse_instant(str(raw["expires_at"])),
        attributes=attributes(details),
        not_covered=_not_covered(details),
    )


def _details(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    details = raw.get("details") or {}
    if not isinstance(details, Mapping):
        raise TypeError("details is not an object")
    return details


def _not_covered(details: Mapping[str, Any]) -> tuple[NotCovered, ...]:
    """`details.not_covered`: `[{"index": 0, "reason": "age_not_covered"}, ...]`, optional."""
    raw = details.get("not_covered")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TypeError("details.not_covered is not a list")
    found: list[NotCovered] = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise TypeError("a not_covered entry is not an object")
        index, reason = item.get("index"), item.get("reason")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"not_covered index {index!r} is not a traveller index")
        if not isinstance(reason, str) or _REASON.fullmatch(reason) is None:
            raise ValueError(f"not_covered reason {reason!r} is not a reason code")
        found.append(NotCovered(index=index, reason=reason))
    if len({n.index for n in found}) != len(found):
        raise ValueError("a traveller is listed as not covered twice")
    return tuple(found)


def _text(raw: Mapping[str, Any], key: str, *, empty_ok: bool = True) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    if not value and not empty_ok:
        raise ValueError(f"{key} is empty")
    return value


def _count(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"traveller_count {value!r} is not a count")
    return value
