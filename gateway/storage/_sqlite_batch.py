"""Group commit for the embedded store: one worker-thread hop and one COMMIT for every piece
of work that queued up while the previous batch ran.

sqlite3 blocks, so work runs in a worker thread, and a write transaction ends with a sync of
the WAL. Under load a composition's two writes (its consent, then its solution with the
audit records) and its request-id lookup each paid a thread hand-off and, for the writes, a
COMMIT of their own. Here whatever is waiting when the thread comes free runs in one
`BEGIN IMMEDIATE … COMMIT`, each piece inside its own SAVEPOINT, so one that fails is rolled
back alone and the others still commit. A caller's future is resolved only after the COMMIT:
"saved" still means durable. With one caller at a time nothing changes but two savepoint
statements.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_BATCH = 64
"""Pieces of work per transaction: bounds what one slow batch makes the next callers wait."""


@dataclass(frozen=True)
class _Done(Generic[T]):
    value: T


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_Outcome = _Done[Any] | _Failed
_Job = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"]


def run_batch(
    db: sqlite3.Connection, works: Sequence[Callable[[sqlite3.Connection], Any]]
) -> list[_Outcome]:
    """Runs `works` in one write transaction (in the calling thread), each in a savepoint."""
    outcomes: list[_Outcome] = []
    try:
        db.execute("BEGIN IMMEDIATE")
        for work in works:
            db.execute("SAVEPOINT job")
            try:
                value = work(db)
            except Exception as exc:  # this piece's own failure: undo it, keep the others
                if not db.in_transaction:
                    raise  # SQLite ended the whole transaction (disk full, I/O error)
                db.execute("ROLLBACK TO job")
                db.execute("RELEASE job")
                outcomes.append(_Failed(exc))
            else:
                db.execute("RELEASE job")
                outcomes.append(_Done(value))
        db.execute("COMMIT")
    except BaseException as exc:
        if db.in_transaction:  # a busy COMMIT leaves it open; some errors end it already
            db.execute("ROLLBACK")
        # Nothing of this batch was committed: every caller learns why.
        return [_Failed(exc)] * len(works)
    return outcomes


class GroupCommitter:
    """Runs work on one connection from one worker thread at a time, batching what queues."""

    def __init__(self, db: sqlite3.Connection, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: deque[_Job] = deque()
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(db)` inside a write transaction, committed before this returns.

        A cancelled caller still waits until its work has run and committed (or failed),
        then the cancellation goes on: what it asked for is never half done or left queued
        behind its back, and the same holds as when each call had the connection alone."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        cancelled = False
        while not future.done():
            try:
                await asyncio.wait({future})
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            future.exception()  # retrieved, so asyncio does not log what nobody awaits
            raise asyncio.CancelledError
        return future.result()

    async def aclose(self) -> None:
        """Waits for every queued piece of work to finish."""
        while self._drainer is not None and not self._drainer.done():
            await asyncio.wait({self._drainer})

    async def _drain(self) -> None:
        while self._queue:
            jobs = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
            try:
                outcomes = await asyncio.shield(
                    asyncio.to_thread(run_batch, self._db, [work for work, _ in jobs])
                )
            except asyncio.CancelledError:  # the loop is stopping: no answer is coming
                for _, future in [*jobs, *self._queue]:
                    future.cancel()
                self._queue.clear()
                raise
            for (_, future), outcome in zip(jobs, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, _Done):
                    future.set_result(outcome.value)
                else:
                    future.set_exception(outcome.error)
