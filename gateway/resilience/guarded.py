"""An adapter behind a circuit breaker and a bulkhead. Same interface as the adapter it wraps,
so composition and booking do not know it is there.

The breaker learns from every call that went out: a failure counts when the error says it
does (`AdapterError.counts_against_breaker`), and so does a call cancelled by its deadline —
an outer `asyncio.timeout` that fires first cancels the call instead of letting it raise
`PartnerTimeout`, and a partner that never answers in time is failing all the same. A call
cancelled before its deadline (the caller went away) says nothing about the partner.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from adapters import (
    AdapterError,
    CallNotSent,
    Cancellation,
    Confirmation,
    HeldBooking,
    Hold,
    Offer,
    PartnerAdapter,
    QuoteRequest,
)
from gateway.resilience.breaker import CircuitBreaker
from gateway.resilience.bulkhead import Bulkhead, BulkheadFullError

T = TypeVar("T")

# A timer due at the deadline may run a hair before the clock reads it (the event loop runs
# handles due within its clock resolution); a cancellation this close is the deadline's.
_DEADLINE_SLACK_S = 0.005


class CircuitOpenError(CallNotSent):
    """The partner failed most of its recent calls; it is skipped until its cool-down ends."""

    outcome = "circuit_open"


class PartnerBusyError(CallNotSent):
    """Too many calls to this partner are in flight; this one was refused at once."""

    outcome = "busy"


class GuardedAdapter:
    def __init__(
        self,
        inner: PartnerAdapter,
        breaker: CircuitBreaker,
        bulkhead: Bulkhead,
        *,
        refusing: bool = True,
    ) -> None:
        self._inner = inner
        self.breaker = breaker
        self._bulkhead = bulkhead
        self._refusing = refusing

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
        return await self._guarded(lambda: self._inner.quote(request, deadline=deadline), deadline)

    async def retrieve(self, reference: str, *, deadline: float) -> HeldBooking:
        return await self._guarded(
            lambda: self._inner.retrieve(reference, deadline=deadline), deadline
        )

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
            ),
            deadline,
        )

    # Confirmations and releases always go out: skipping them would leave a hold behind.
    async def confirm(self, hold_id: str, *, idempotency_key: str, deadline: float) -> Confirmation:
        inner = self._inner
        return await self._observed(
            lambda: inner.confirm(hold_id, idempotency_key=idempotency_key, deadline=deadline),
            deadline,
        )

    async def cancel(self, hold_id: str, *, idempotency_key: str, deadline: float) -> Cancellation:
        return await self._observed(
            lambda: self._inner.cancel(hold_id, idempotency_key=idempotency_key, deadline=deadline),
            deadline,
        )

    def essential(self) -> GuardedAdapter:
        """The same partner, breaker and bulkhead for calls that must go out even while the
        breaker is open or the bulkhead full (finding out whether a hold whose answer was
        lost exists, so it can be released); their outcomes still count."""
        return GuardedAdapter(self._inner, self.breaker, self._bulkhead, refusing=False)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _guarded(self, call: Callable[[], Awaitable[T]], deadline: float) -> T:
        if not self._refusing:
            return await self._observed(call, deadline)
        if not self.breaker.allow():
            raise CircuitOpenError(
                self.partner_id, "skipped: the partner is failing (circuit open)"
            )
        try:
            async with self._bulkhead.slot():
                return await self._observed(call, deadline)
        except BulkheadFullError as exc:
            self.breaker.release_probe()
            raise PartnerBusyError(self.partner_id, "skipped: too many calls in flight") from exc

    async def _observed(self, call: Callable[[], Awaitable[T]], deadline: float) -> T:
        try:
            result = await call()
        except AdapterError as exc:
            self.breaker.record(not exc.counts_against_breaker)
            raise
        except asyncio.CancelledError:
            if time.monotonic() >= deadline - _DEADLINE_SLACK_S:
                self.breaker.record(False)
            else:
                self.breaker.release_probe()
            raise
        self.breaker.record(True)
        return result


def essential(adapter: PartnerAdapter) -> PartnerAdapter:
    """`adapter` for calls that must go out even while its partner's breaker is open."""
    return adapter.essential() if isinstance(adapter, GuardedAdapter) else adapter
