"""An adapter for any partner speaking the reference protocol (docs/partner-protocol.md).

Each kind module supplies a `KindProtocol`: how the recipe's canonical parameters become the
kind's quote body, and which offer `details` are shown to people as attributes.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import InvalidOperation
from typing import Any

import httpx2

from adapters._answers import parse_booking, parse_instant, parse_offers, parse_price
from adapters._errors import AdapterError, BookingNotFound, PartnerProtocolError, PartnerRejected
from adapters._http import PartnerHttpClient
from adapters._model import (
    Cancellation,
    Confirmation,
    HeldBooking,
    Hold,
    Offer,
    PartnerConfig,
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

    async def retrieve(self, reference: str, *, deadline: float) -> HeldBooking:
        # Escaped whole: a reference is the partner's opaque text, never a path of ours.
        path = f"/v1/bookings/{urllib.parse.quote(reference, safe='')}"
        try:
            payload = await self._http.get_json(path, deadline=deadline)
        except PartnerRejected as exc:
            if exc.status != 404:
                raise
            raise BookingNotFound(
                self.partner_id, exc.message, status=exc.status, code=exc.code, field=exc.field
            ) from exc
        return parse_booking(self.partner_id, payload, self._protocol.attributes)

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
                expires_at=parse_instant(str(expires)) if expires else None,
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
            return Cancellation(hold_id=hold_id, refund=parse_price(refund) if refund else None)

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


def stringify(details: Mapping[str, Any], keys: Sequence[str]) -> dict[str, str]:
    """The named detail fields as strings, skipping absent ones."""
    return {key: str(details[key]) for key in keys if details.get(key) is not None}
