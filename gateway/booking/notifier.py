"""Wakes `WatchOrder` streams when an order changes in this process; other replicas' changes
are picked up by polling the store."""

from __future__ import annotations

import asyncio
from collections import defaultdict


class OrderNotifier:
    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = defaultdict(set)

    def changed(self, order_id: str) -> None:
        for event in self._events.get(order_id, ()):
            event.set()

    async def wait(self, order_id: str, timeout_s: float) -> None:
        """Returns when the order changed here, or after `timeout_s` (to poll the store)."""
        event = asyncio.Event()
        self._events[order_id].add(event)
        try:
            async with asyncio.timeout(timeout_s):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._events[order_id].discard(event)
            if not self._events[order_id]:
                del self._events[order_id]
