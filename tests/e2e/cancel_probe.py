"""A test-only adapter at the seam: the real reference adapter, plus a record of calls that
were cancelled, so a test can see a cancelled caller stop the partner calls at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from adapters import Offer, PartnerAdapter, PartnerConfig, QuoteRequest, create_adapter

CANCELLED: dict[str, asyncio.Event] = {}


class CancelProbe:
    def __init__(self, inner: PartnerAdapter) -> None:
        self._inner = inner
        self.retrieve = inner.retrieve
        self.hold = inner.hold
        self.confirm = inner.confirm
        self.cancel = inner.cancel

    @property
    def partner_id(self) -> str:
        return self._inner.partner_id

    @property
    def kind(self) -> str:
        return self._inner.kind

    async def quote(self, request: QuoteRequest, *, deadline: float) -> Sequence[Offer]:
        try:
            return await self._inner.quote(request, deadline=deadline)
        except asyncio.CancelledError:
            CANCELLED.setdefault(self.partner_id, asyncio.Event()).set()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()


def create(config: PartnerConfig) -> PartnerAdapter:
    return CancelProbe(create_adapter(config))
