"""A bulkhead per partner: at most so many calls in flight and so many waiting, so a slow
partner cannot take the tasks and memory that calls to the other partners need. (Each
partner already has its own connection pool, so it cannot take their connections either.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class BulkheadPolicy:
    max_concurrent: int = 100
    max_waiting: int = 200


class BulkheadFullError(Exception):
    """Too many calls to this partner are already in flight and waiting."""


class Bulkhead:
    def __init__(self, policy: BulkheadPolicy) -> None:
        self._slots = asyncio.Semaphore(policy.max_concurrent)
        self._max_waiting = policy.max_waiting
        self._waiting = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A place for one call; refuses at once when the waiting room is full."""
        if self._slots.locked() and self._waiting >= self._max_waiting:
            raise BulkheadFullError
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()
