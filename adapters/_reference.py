"""An adapter for any partner speaking the reference protocol (docs/partner-protocol.md).

Each kind module supplies a `KindProtocol`: how the recipe's canonical parameters become the
kind's quote body, and which offer `details` are shown to people as attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx2

from adapters._errors import PartnerProtocolError
from adapters._http import PartnerHttpClient
from adapters._model import Offer, PartnerConfig, Price, QuoteRequest


@dataclass(frozen=True)
class KindProtocol:
    """What differs between partner kinds in the reference protocol."""

    kind: str
    quote_body: Callable[[Mapping[str, Any]], dict[str, Any]]
    attributes: Callable[[Mapping[str, Any]], dict[str, str]]


class ReferenceAdapter:
    """`PartnerAdapter` for a partner that serves the reference protocol."""

    def __init__(
        self,
        config: PartnerConfig,
        protocol: KindProtocol,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._protocol = protocol
        self._http = PartnerHttpClient(config, transport)

    @property
    def partner_id(self) -> str:
        return self._config.partner_id

    @property
    def kind(self) -> str:
        return self._config.kind

    @property
    def token_fetches(self) -> int:
        return self._http.token_fetches

    async def quote(self, request: QuoteRequest, *, deadline: float) -> Sequence[Offer]:
        body = self._protocol.quote_body(request.params)
        payload = await self._http.post_json("/v1/quotes", body, deadline=deadline)
        return parse_offers(self.partner_id, payload, self._protocol.attributes)

    async def aclose(self) -> None:
        await self._http.aclose()


def parse_offers(
    partner_id: str,
    payload: Any,
    attributes: Callable[[Mapping[str, Any]], dict[str, str]],
) -> list[Offer]:
    """Validates a `{"offers": [...]}` answer; anything malformed is a protocol error."""
    try:
        raw_offers = payload["offers"]
        if not isinstance(raw_offers, list):
            raise TypeError("offers is not a list")
        return [_parse_offer(partner_id, raw, attributes) for raw in raw_offers]
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise PartnerProtocolError(partner_id, f"malformed offers: {exc!r}") from exc


def _parse_offer(
    partner_id: str,
    raw: Mapping[str, Any],
    attributes: Callable[[Mapping[str, Any]], dict[str, str]],
) -> Offer:
    price = raw["price"]
    currency = str(price["currency_code"])
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ValueError(f"bad currency code {currency!r}")
    base, tax = Decimal(str(price["base"])), Decimal(str(price["tax"]))
    if not (base.is_finite() and tax.is_finite()) or base < 0 or tax < 0:
        raise ValueError("price must be finite and not negative")
    expires_at = datetime.fromisoformat(str(raw["expires_at"]).replace("Z", "+00:00"))
    if expires_at.tzinfo is None:
        raise ValueError("expires_at has no time zone")
    details = raw.get("details") or {}
    if not isinstance(details, Mapping):
        raise TypeError("details is not an object")
    return Offer(
        partner_id=partner_id,
        offer_id=str(raw["offer_id"]),
        product_code=str(raw["product_code"]),
        title=str(raw["title"]),
        price=Price(currency_code=currency, base=base, tax=tax),
        rating=float(raw.get("rating", 0.0)),
        expires_at=expires_at,
        attributes=attributes(details),
    )


def stringify(details: Mapping[str, Any], keys: Sequence[str]) -> dict[str, str]:
    """The named detail fields as strings, skipping absent ones."""
    return {key: str(details[key]) for key in keys if details.get(key) is not None}
