"""The one narrow seam between the gateway and a partner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from adapters._model import Offer, PartnerConfig, QuoteRequest


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

    async def aclose(self) -> None: ...


AdapterFactory = Callable[[PartnerConfig], PartnerAdapter]
