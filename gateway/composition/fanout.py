"""Asking every candidate partner of one component at once, inside one deadline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters import AdapterError, Offer, PartnerAdapter, QuoteRequest
from gateway.telemetry import PartnerCallObserver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartnerAnswer:
    """What one partner answered: offers, or why there are none."""

    partner_id: str
    outcome: str  # ok | no_offers | timeout | unavailable | rejected | ...
    offers: Sequence[Offer] = field(default_factory=tuple)
    detail: str = ""


async def ask_partners(
    adapters: Sequence[PartnerAdapter],
    request: QuoteRequest,
    deadline: float,
    observer: PartnerCallObserver,
) -> list[PartnerAnswer]:
    """Quotes from every adapter concurrently; never raises for a partner's failure.

    `deadline` is a `time.monotonic()` instant (the event loop's clock). A partner still
    busy at the deadline is cancelled and reported as a timeout; the others keep their answers.
    """
    if len(adapters) == 1:  # one partner for the kind: no task, no gathering future
        return [await _ask(adapters[0], request, deadline, observer)]
    return list(await asyncio.gather(*(_ask(a, request, deadline, observer) for a in adapters)))


async def _ask(
    adapter: PartnerAdapter, request: QuoteRequest, deadline: float, observer: PartnerCallObserver
) -> PartnerAnswer:
    with observer.call(adapter.partner_id, adapter.kind, "quote", request.component) as call:
        answer = await _answer(adapter, request, deadline)
        call.outcome = answer.outcome
        return answer


async def _answer(adapter: PartnerAdapter, request: QuoteRequest, deadline: float) -> PartnerAnswer:
    try:
        async with asyncio.timeout_at(deadline):
            offers = await adapter.quote(request, deadline=deadline)
    except TimeoutError:
        return PartnerAnswer(adapter.partner_id, "timeout", detail="no answer before the deadline")
    except AdapterError as exc:
        log.info("partner %s failed for %s: %s", exc.partner_id, request.component, exc.outcome)
        return PartnerAnswer(adapter.partner_id, exc.outcome, detail=exc.message)
    if not offers:
        return PartnerAnswer(adapter.partner_id, "no_offers", detail="no offer for this trip")
    return PartnerAnswer(adapter.partner_id, "ok", offers=tuple(offers))
