"""Quoted offers and holds: the hold → confirm → cancel life cycle of one partner.

A hold reserves a quoted, unexpired offer for `offer_ttl_s`; confirming turns it into a
booking with a reference; cancelling a held hold refunds nothing (nothing was charged),
cancelling a confirmed one refunds its full price. Cancel and confirm repeat their answer
when asked again in the state they produced. A sale at the partner's own counter
(`/_sandbox/sales`) is a booking confirmed at once. Every booking, however it was made, can
be retrieved by its reference.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox._clock import Clock, rfc3339
from sandbox._errors import PartnerError

__all__ = ["Bookings", "Hold"]

# Bound the offers a long benchmark leaves behind; expired ones are dropped first.
_MAX_OFFERS = 50_000


@dataclass
class Hold:
    """A hold and what became of it; a counter sale is kept as one too, confirmed from the
    start. `traveller_count` is whom it is for (the hold's travellers, or the sale's)."""

    hold_id: str
    offer: Mapping[str, Any]
    travellers: list[Any]
    traveller_count: int
    expires_at: float
    status: str = "held"
    reference: str | None = None
    refund: Mapping[str, str] | None = field(default=None)


def _conflict(message: str, field_name: str | None = None) -> PartnerError:
    return PartnerError(409, "conflict", message, field_name)


class Bookings:
    """Offers this partner quoted, the holds made on them, and its bookings by reference."""

    def __init__(self, reference_prefix: str, clock: Clock) -> None:
        self._prefix = reference_prefix
        self._clock = clock
        self._offers: dict[str, tuple[Mapping[str, Any], float]] = {}
        self.holds: dict[str, Hold] = {}
        self._by_reference: dict[str, Hold] = {}

    def remember(self, offers: Sequence[Mapping[str, Any]], expires_at: float) -> None:
        """Make quoted offers holdable until `expires_at` (a re-quote renews them)."""
        if len(self._offers) + len(offers) > _MAX_OFFERS:
            now = self._clock()
            self._offers = {k: v for k, v in self._offers.items() if v[1] > now}
        for offer in offers:
            self._offers[str(offer["offer_id"])] = (offer, expires_at)

    def hold(self, body: Mapping[str, Any], ttl_s: int) -> dict[str, Any]:
        offer_id = body.get("offer_id")
        if not isinstance(offer_id, str) or not offer_id:
            raise PartnerError(400, "invalid_request", "offer_id is required", "offer_id")
        travellers = body.get("travellers", [])
        if not isinstance(travellers, list) or not all(isinstance(t, dict) for t in travellers):
            raise PartnerError(
                400, "invalid_request", "travellers must be an array of objects", "travellers"
            )
        quoted = self._offers.get(offer_id)
        now = self._clock()
        if quoted is None:
            raise _conflict("offer is unknown", "offer_id")
        if now >= quoted[1]:
            raise _conflict("offer has expired", "offer_id")
        hold = Hold(
            f"h_{secrets.token_hex(12)}", quoted[0], travellers, len(travellers), now + ttl_s
        )
        self.holds[hold.hold_id] = hold
        return {
            "hold_id": hold.hold_id,
            "status": hold.status,
            "offer_id": offer_id,
            "expires_at": rfc3339(hold.expires_at),
        }

    def _find(self, hold_id: str) -> Hold:
        hold = self.holds.get(hold_id)
        if hold is None:
            raise PartnerError(404, "not_found", f"hold {hold_id} does not exist")
        return hold

    def confirm(self, hold_id: str) -> dict[str, Any]:
        hold = self._find(hold_id)
        if hold.status == "cancelled":
            raise _conflict("hold is cancelled")
        if hold.status == "held":
            if self._clock() >= hold.expires_at:
                raise _conflict("hold has expired")
            self._book(hold)
        return {"hold_id": hold.hold_id, "status": hold.status, "reference": hold.reference}

    def sell(self, offer: Mapping[str, Any], traveller_count: int) -> dict[str, Any]:
        """A booking made at the partner's own counter: confirmed at once, never held (so
        it is found by reference only, not among the holds)."""
        hold = Hold(f"s_{secrets.token_hex(12)}", offer, [], traveller_count, self._clock())
        self._book(hold)
        return self.booking_json(hold)

    def find_booking(self, reference: str) -> Hold:
        """The confirmed (maybe since cancelled) booking with `reference`, or `404`."""
        hold = self._by_reference.get(reference)
        if hold is None:
            raise PartnerError(404, "not_found", f"booking {reference} does not exist")
        return hold

    @staticmethod
    def booking_json(hold: Hold) -> dict[str, Any]:
        """A booking as `GET /v1/bookings/{reference}` answers it."""
        offer = hold.offer
        return {
            "reference": hold.reference,
            "status": hold.status,
            "offer_id": offer["offer_id"],
            "product_code": offer["product_code"],
            "title": offer["title"],
            "price": dict(offer["price"]),
            "details": offer["details"],
            "traveller_count": hold.traveller_count,
        }

    def _book(self, hold: Hold) -> None:
        hold.status = "confirmed"
        hold.reference = self._reference(hold.hold_id)
        self._by_reference[hold.reference] = hold

    def cancel(self, hold_id: str) -> dict[str, Any]:
        hold = self._find(hold_id)
        if hold.status == "confirmed":
            hold.refund = dict(hold.offer["price"])
        hold.status = "cancelled"
        return {"hold_id": hold.hold_id, "status": hold.status, "refund": hold.refund}

    def _reference(self, hold_id: str) -> str:
        # Six letters/digits like an airline PNR, derived from the hold so it is stable.
        digest = base64.b32encode(hashlib.sha256(hold_id.encode()).digest()).decode()
        return f"{self._prefix}-{digest[:6]}"
