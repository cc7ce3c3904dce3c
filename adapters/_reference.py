"""An adapter for any partner speaking the reference protocol (docs/partner-protocol.md).

Each kind module supplies a `KindProtocol`: how the recipe's canonical parameters become the
kind's quote body, and which offer `details` are shown to people as attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx2

from adapters._currencies import check_currency_code
from adapters._errors import AdapterError, PartnerProtocolError
from adapters._http import PartnerHttpClient
from adapters._model import (
    Cancellation,
    Confirmation,
    Hold,
    Offer,
    PartnerConfig,
    Price,
    QuoteRequest,
)


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

    @property
    def retries(self) -> int:
        return self._http.retries

    async def quote(self, request: QuoteRequest, *, deadline: float) -> Sequence[Offer]:
        body = self._protocol.quote_body(request.params)
        payload = await self._http.post_json("/v1/quotes", body, deadline=deadline)
        return parse_offers(self.partner_id, payload, self._protocol.attributes)

    async def hold(
        self,
        offer_id: str,
        travellers: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str,
        deadline: float,
    ) -> Hold:
        body = {"offer_id": offer_id, "travellers": [dict(t) for t in travellers]}
        payload = await self._http.post_json(
            "/v1/holds", body, deadline=deadline, idempotency_key=idempotency_key
        )
        with self._protocol_errors("hold"):
            expires = payload.get("expires_at")
            return Hold(
                hold_id=str(payload["hold_id"]),
                expires_at=_instant(str(expires)) if expires else None,
            )

    async def confirm(self, hold_id: str, *, idempotency_key: str, deadline: float) -> Confirmation:
        payload = await self._http.post_json(
            f"/v1/holds/{hold_id}/confirm", {}, deadline=deadline, idempotency_key=idempotency_key
        )
        with self._protocol_errors("confirmation"):
            return Confirmation(hold_id=hold_id, reference=str(payload["reference"]))

    async def cancel(self, hold_id: str, *, idempotency_key: str, deadline: float) -> Cancellation:
        payload = await self._http.post_json(
            f"/v1/holds/{hold_id}/cancel", {}, deadline=deadline, idempotency_key=idempotency_key
        )
        with self._protocol_errors("cancellation"):
            refund = payload.get("refund")
            return Cancellation(hold_id=hold_id, refund=_price(refund) if refund else None)

    @contextmanager
    def _protocol_errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except AdapterError:
            raise
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
            raise PartnerProtocolError(self.partner_id, f"malformed {what}: {exc!r}") from exc

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
    details = raw.get("details") or {}
    if not isinstance(details, Mapping):
        raise TypeError("details is not an object")
    return Offer(
        partner_id=partner_id,
        offer_id=str(raw["offer_id"]),
        product_code=str(raw["product_code"]),
        title=str(raw["title"]),
        price=_price(raw["price"]),
        rating=float(raw.get("rating", 0.0)),
        expires_at=_instant(str(raw["expires_at"])),
        attributes=attributes(details),
    )


def _price(raw: Mapping[str, Any]) -> Price:
    # A made-up currency would be summed into totals of its own and shown to customers.
    currency = check_currency_code(raw["currency_code"])
    base, tax = Decimal(str(raw["base"])), Decimal(str(raw["tax"]))
    if not (base.is_finite() and tax.is_finite()) or base < 0 or tax < 0:
        raise ValueError("price must be finite and not negative")
    return Price(currency_code=currency, base=base, tax=tax)


def _instant(value: str) -> datetime:
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return instant


def stringify(details: Mapping[str, Any], keys: Sequence[str]) -> dict[str, str]:
    """The named detail fields as strings, skipping absent ones."""
    return {key: str(details[key]) for key in keys if details.get(key) is not None}
