"""Resuming sagas left in flight: on start, and periodically, so a dead replica's orders are
taken over once their leases expire."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from gateway.storage import OrderStore

log = logging.getLogger(__name__)


async def resume_unfinished(
    store: OrderStore, start_saga: Callable[[str], object], limit: int = 500
) -> int:
    """Starts the saga of every unfinished order; the lease decides who really runs it."""
    order_ids = await store.unfinished_orders(limit)
    for order_id in order_ids:
        start_saga(order_id)
    if order_ids:
        log.info("resuming %d unfinished orders", len(order_ids))
    return len(order_ids)


async def recovery_loop(
    store: OrderStore, start_saga: Callable[[str], object], interval_s: float
) -> None:
    while True:
        try:
            await resume_unfinished(store, start_saga)
        except Exception:  # a store outage must not end recovery for good
            log.exception("recovery scan failed; retrying in %.0f s", interval_s)
        await asyncio.sleep(interval_s)
