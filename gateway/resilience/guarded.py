"""An adapter behind a circuit breaker and a bulkhead. Same interface as the adapter it wraps,
so composition and booking do not know it is there."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from adapters import (
    AdapterError,
    Cancellation,
    Confirmation,
    HeldBooking,
    Hold,
    Offer,
    PartnerAdapter,
    PartnerAuthError,
    PartnerRejected,
    QuoteRequest,
)
from gateway.resilience.breaker import CircuitBreaker
from gateway.resilience.bulkhead import Bulkhead, BulkheadFullError

T = TypeVar("T")


class CircuitOpenError(AdapterError):
    """The partner failed most of its recent calls; it is skipped until its cool-down ends."""

    outcome = "circuit_open"


class PartnerBusyError(AdapterError):
    """Too many calls to this partner are in flight; this one was refused at once."""

    outcome = "busy"


def _partner_is_healthy(exc: AdapterError) -> bool:
    """A refusal (4xx, bad credentials) is an answer: the partner is up."""
    return isinstance(exc, (PartnerRejected, PartnerAuthError))


class GuardedAdapter:
    def __init__(self, inner: PartnerAdapter, breaker: CircuitBreaker, bulkhead: Bulkhead) -> None:
        self._inner = inner
        self.breaker = breaker
        self._bulkhead = bulkhead

    @property
    def partner_id(self) -> str:
        return self._inner.partner_id

    @property
    def kind(self) -> str:
        return self._inner.kind

    @property
    def inner(self) -> PartnerAdapter:
        return self._inner

    async def quote(self, request: QuoteRequest, *, deadline: float) -> Sequence[Offer]:
        return await self._guarded(lambda: self._inner.quote(request, deadline=deadline))

    async def retrieve(self, reference: str, *, deadline: float) -> HeldBooking:
        return await self._guarded(lambda: self._inner.retrieve(reference, deadline=deadline))

    async def hold(
        self,
        offer_id: str,
        travellers: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str,
        deadline: float,
    ) -> Hold:
        return await self._guarded(
            lambda: self._inner.hold(
                offer_id, travellers, idempotency_key=idempotency_key, deadline=deadline
            )
        )

    # Confirmations and releases always go out: skipping them would leave a hold behind.
    async def confirm(self, hold_id: str, *, idempotency_key: str, deadline: float) -> Confirmation:
        return await self._observed(
            lambda: self._inner.confirm(hold_id, idempotency_key=idempotency_key, deadline=deadline)
        )

    async def cancel(self, hold_id: str, *, idempotency_key: str, deadline: float) -> Cancellation:
        return await self._observed(
            lambda: self._inner.cancel(hold_id, idempotency_key=idempotency_key, deadline=deadline)
        )

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        if not self.breaker.allow():
            raise CircuitOpenError(
                self.partner_id, "skipped: the partner is failing (circuit open)"
            )
        try:
            async with self._bulkhead.slot():
                return await self._observed(call)
        except BulkheadFullError as exc:
            self.breaker.release_probe()
            raise PartnerBusyError(self.partner_id, "skipped: too many calls in flight") from exc

    async def _observed(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await call()
        except AdapterError as exc:
            self.breaker.record(_partner_is_healthy(exc))
            raise
        except asyncio.CancelledError:
            self.breaker.release_probe()
            raise
        self.breaker.record(True)
        return result
