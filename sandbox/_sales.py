"""Sales at the partner's own counter (`POST /_sandbox/sales`): bookings a customer already
holds before the gateway ever sees them, so tests and the demo can start from one.

A sale prices its quote with the catalogue directly — no latency, no faults, not in the
ledger, no offer left to hold — picks one offer and books it as hold + confirm would, with a
reference of the same format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sandbox._errors import PartnerError
from sandbox._fields import read_int, read_object
from sandbox._state import PartnerState

__all__ = ["sell"]

_FIELDS = frozenset({"quote", "pick", "traveller_count"})
_MAX_TRAVELLERS = 99


def _one(quote: Mapping[str, Any]) -> int:
    return 1


def _passengers(quote: Mapping[str, Any]) -> int:
    passengers = quote["passengers"]
    return int(passengers["adults"]) + int(passengers.get("children") or 0)


# How many travellers a (valid) quote of each kind is for, when the sale does not say;
# any other kind sells to one.
_PARTY_SIZE: Mapping[str, Callable[[Mapping[str, Any]], int]] = {
    "airline": _passengers,
    "insurer": lambda quote: len(quote["insured"]),
    "car_rental": lambda quote: int(quote.get("passengers") or 1),
    "telecom": lambda quote: int(quote["lines"]),
}


def sell(state: PartnerState, body: object) -> dict[str, Any]:
    """Books offer `pick` of `quote` for `traveller_count` travellers:
    `{"reference": ..., "booking": <as GET /v1/bookings/{reference} answers>}`."""
    if not isinstance(body, dict):
        raise PartnerError(400, "invalid_request", "body must be a JSON object")
    unknown = set(body) - _FIELDS
    if unknown:
        name = min(unknown)
        raise PartnerError(400, "invalid_request", f"{name} is not a sale field", name)
    quote = read_object(body, "quote")
    pick = read_int(body, "pick", low=0, high=1_000_000, default=0)
    count: int | None = None
    if body.get("traveller_count") is not None:
        count = read_int(body, "traveller_count", low=1, high=_MAX_TRAVELLERS)
    try:
        offers = state.price(quote, int(state.clock()))
    except PartnerError as error:
        # The quote's own refusal, with the path of the field inside this body.
        field = f"quote.{error.field}" if error.field else "quote"
        raise PartnerError(error.status, error.code, error.message, field) from error
    if not offers:
        raise PartnerError(409, "conflict", "the quote has no offers to sell", "quote")
    if pick >= len(offers):
        message = f"pick {pick} is not one of the {len(offers)} offers"
        raise PartnerError(409, "conflict", message, "pick")
    if count is None:
        count = _PARTY_SIZE.get(state.spec.kind, _one)(quote)
    booking = state.bookings.sell(offers[pick], count)
    return {"reference": booking["reference"], "booking": booking}
