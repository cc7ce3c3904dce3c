"""Transactions and timestamps on the embedded store's one connection (autocommit mode)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from gateway.storage._rows import utc_aware


@contextmanager
def writing(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction. IMMEDIATE takes the write lock up front, so a read-then-write
    never fails halfway with SQLITE_BUSY when another process writes too. Inside a
    transaction already (a group commit's batch, `_sqlite_batch`), a savepoint: all or
    nothing of it, committed with the batch."""
    if db.in_transaction:
        db.execute("SAVEPOINT writing")
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK TO writing")
                db.execute("RELEASE writing")
            raise
        db.execute("RELEASE writing")
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a busy COMMIT leaves it open; some errors end it already
            db.execute("ROLLBACK")
        raise


@contextmanager
def reading(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: several SELECTs see one snapshot (WAL), never half a write.
    Inside a transaction already, that transaction is the snapshot."""
    if db.in_transaction:
        yield db
        return
    db.execute("BEGIN")
    try:
        yield db
    finally:
        if db.in_transaction:
            db.execute("COMMIT")


def to_text(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601, so comparing the text compares the times."""
    return utc_aware(moment).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def now_text() -> str:
    return to_text(datetime.now(UTC))
