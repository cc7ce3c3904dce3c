"""A bulkhead per partner: at most so many calls in flight and so many waiting, so a slow
partner cannot take the tasks and memory that calls to the other partners need. (Each
partner already has its own connection pool, so it cannot take their connections either.)"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class BulkheadPolicy:
    max_concurrent: int = 100
    """Calls to the partner in flight at once."""
    max_waiting: int = 200
    """Calls waiting for one of those places; beyond them a call is refused at once."""

    def __post_init__(self) -> None:
        # A bulkhead that cannot work is refused where it is made, not found out under load.
        if self.max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, got {self.max_concurrent}")
        if self.max_waiting < 0:
            raise ValueError(f"max_waiting must not be negative, got {self.max_waiting}")


class BulkheadFullError(Exception):
    """Too many calls to this partner are already in flight and waiting."""


class Bulkhead:
    """Counts calls in flight and queues the rest, first come first served.

    Every partner call passes here, so the way in is a counter, not a semaphore: with a
    free slot and nobody waiting, entering costs no await and no future (asyncio's
    `Semaphore.locked()` alone scanned its waiters on every call)."""

    def __init__(self, policy: BulkheadPolicy) -> None:
        self._max_concurrent = policy.max_concurrent
        self._max_waiting = policy.max_waiting
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return sum(not w.done() for w in self._waiters)

    def slot(self) -> _Slot:
        """A place for one call (`async with`); refuses at once when the waiting room is full."""
        return _Slot(self)

    async def _enter(self) -> None:
        if self._in_flight < self._max_concurrent and not self._waiters:
            self._in_flight += 1
            return
        if len(self._waiters) >= self._max_waiting:
            raise BulkheadFullError
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # resolved by `_leave`, which hands its slot over as it is
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._leave()  # handed a slot just before the cancellation: pass it on
            elif waiter in self._waiters:  # `_leave` may have dropped it already
                self._waiters.remove(waiter)
            raise

    def _leave(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot changes hands: `_in_flight` stays
                return
        self._in_flight -= 1


class _Slot:
    __slots__ = ("_bulkhead",)

    def __init__(self, bulkhead: Bulkhead) -> None:
        self._bulkhead = bulkhead

    async def __aenter__(self) -> None:
        await self._bulkhead._enter()

    async def __aexit__(self, *exc_info: object) -> None:
        self._bulkhead._leave()
