"""The one narrow seam between the gateway and a partner."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from adapters._model import (
    Cancellation,
    Confirmation,
    HeldBooking,
    Hold,
    Offer,
    PartnerConfig,
    QuoteRequest,
)


@runtime_checkable
class PartnerAdapter(Protocol):
    """Talks to one partner. Raises only `adapters.AdapterError` subclasses."""

    @property
    def partner_id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    async def quote(self, request: QuoteRequest, *, deadline: float) -> Sequence[Offer]:
        """Offers for one component; `deadline` is a `time.monotonic()` instant."""
        ...

    async def retrieve(self, reference: str, *, deadline: float) -> HeldBooking:
        """The booking the customer holds under `reference` (made through us or not);
        `BookingNotFound` when the partner knows none."""
        ...

    async def hold(
        self,
        offer_id: str,
        travellers: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str,
        deadline: float,
    ) -> Hold:
        """Holds an offer. Repeating a call with the same key returns the first answer."""
        ...

    async def confirm(
        self, hold_id: str, *, idempotency_key: str, deadline: float
    ) -> Confirmation: ...

    async def cancel(self, hold_id: str, *, idempotency_key: str, deadline: float) -> Cancellation:
        """Releases a hold or cancels a confirmed booking; repeating it is harmless."""
        ...

    async def aclose(self) -> None: ...


AdapterFactory = Callable[[PartnerConfig], PartnerAdapter]
