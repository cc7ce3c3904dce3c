"""The seam between the generic partner and what it sells: the `Catalogue` protocol.

A catalogue turns one kind's quote request into offer drafts — `product_code`, `title`,
`price` (protocol Money), `rating` and `details`. The partner adds what every kind shares:
the deterministic `offer_id`, `expires_at` and the order of the offers. A catalogue is pure:
same request, same drafts, so the same request always gets byte-identical offers — except
that the built-in airline, reading the partner's clock, stops offering flights about to leave.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

__all__ = ["Catalogue", "canonical_json", "finish_offers", "stable_int"]


class Catalogue(Protocol):
    """Prices one kind's quote requests.

    `quote` gets the request body (a JSON object) and returns offer drafts (no offer is an
    empty list); it raises `CatalogueError` for a request it cannot read.
    """

    def quote(self, request: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]: ...


def canonical_json(value: object) -> str:
    """One spelling per JSON value (sorted keys, no spaces), for hashing and comparing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stable_int(*parts: str) -> int:
    """A non-negative integer from `parts`, the same in every process (unlike `hash`)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _offer_id(partner_id: str, request_key: str, product_code: str) -> str:
    digest = hashlib.sha256(f"{partner_id}\n{request_key}\n{product_code}".encode()).hexdigest()
    return f"of_{digest[:24]}"


def _sort_key(offer: Mapping[str, Any]) -> tuple[Decimal, str, str]:
    price = offer["price"]
    total = Decimal(price["base"]) + Decimal(price["tax"])
    return (total, str(offer["product_code"]), str(offer["offer_id"]))


def finish_offers(
    partner_id: str,
    request: Mapping[str, Any],
    drafts: Sequence[Mapping[str, Any]],
    expires_at: str,
) -> list[dict[str, Any]]:
    """Protocol offers from drafts, cheapest first.

    `offer_id` hashes the partner id, the canonical request and the product code.
    """
    request_key = canonical_json(request)
    offers = [
        {
            "offer_id": _offer_id(partner_id, request_key, str(draft["product_code"])),
            "product_code": draft["product_code"],
            "title": draft["title"],
            "price": draft["price"],
            "rating": draft["rating"],
            "expires_at": expires_at,
            "details": draft["details"],
        }
        for draft in drafts
    ]
    return sorted(offers, key=_sort_key)
