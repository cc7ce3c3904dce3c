"""A replica that stalls inside a transaction (SIGSTOP, a network partition) must not stall the
others: audited writes take no lock another replica could be holding, and every session is
bounded, so row locks a stalled replica holds are released within seconds. PostgreSQL only:
SQLite is one writer at a time by design (`busy_timeout` bounds the wait there)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg import sql

from gateway.audit import verify_store
from gateway.errors import StorageUnavailableError
from gateway.model import AuditRecord, OrderState
from gateway.storage import PostgresStore, TransactionBounds
from gateway.storage import _postgres_audit as audit_log
from tests.gateway.storage.test_store_contract import CREATED, leased, order

# Generous for a loaded 2-core machine, and still far below "until the peer wakes up".
PROMPT_S = 1.5


def record(subject: str) -> AuditRecord:
    return AuditRecord(actor="partner-1", action="rpc:Test/Do", subject=subject, outcome="ok")


@pytest.fixture
async def replicas(postgres_dsn: str, postgres_schema: str) -> AsyncIterator[list[PostgresStore]]:
    bounds = TransactionBounds(lock_timeout_s=0.3, idle_in_transaction_timeout_s=1.0)
    stores = [
        await PostgresStore.open(postgres_dsn, schema=postgres_schema, max_size=4, bounds=bounds)
        for _ in range(2)
    ]
    yield stores
    for store in stores:
        await store.aclose()


async def test_an_audited_transaction_left_open_blocks_no_other_writer(
    replicas: list[PostgresStore], postgres_dsn: str, postgres_schema: str
) -> None:
    """Replica A stops right after writing its audit record, before its commit; replica B's
    audited writes of every kind go on at once."""
    a, b = replicas
    frozen = await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True)
    try:
        await frozen.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(postgres_schema))
        )
        async with frozen.transaction():
            await audit_log.append(frozen, [record("frozen")])  # ...and A stops here

            async with asyncio.timeout(PROMPT_S):
                await b.append_audit([record("b-alone")])
            async with asyncio.timeout(PROMPT_S):
                _, lease = await leased(b)
            async with asyncio.timeout(PROMPT_S):
                await b.save_progress(lease, state=OrderState.HOLDING, audit=[record("b-step")])
            async with asyncio.timeout(PROMPT_S):
                await b.create_order(order(), None, CREATED, audit=[record("b-order")])
            async with asyncio.timeout(PROMPT_S):
                await b.save_solution("sol-b", "p", "fp", b"x", None, audit=[record("b-sol")])
            # Sealing waits for nobody either: it chains what is committed.
            async with asyncio.timeout(PROMPT_S):
                assert await a.seal_audit() + await b.seal_audit() == 4
    finally:
        await frozen.close()

    assert await a.seal_audit() + await b.seal_audit() == 1
    entries = await a.audit_entries(0, 100)
    subjects = [e.record.subject for e in entries]
    assert sorted(subjects[:4]) == ["b-alone", "b-order", "b-sol", "b-step"]
    assert subjects[4:] == ["frozen"]  # chained when it committed, after the others
    report = await verify_store(b)
    assert (report.ok, report.checked, report.unsealed) == (True, 5, 0)


async def test_unsealed_records_are_reported_until_a_replica_chains_them(
    replicas: list[PostgresStore],
) -> None:
    a, b = replicas
    await a.append_audit([record("one"), record("two")])

    backlog = await b.audit_backlog()
    report = await verify_store(b)

    assert (backlog.unsealed, report.unsealed, report.checked) == (2, 2, 0)
    assert backlog.oldest_at is not None
    assert await b.seal_audit(limit=1) == 1
    assert await a.seal_audit() == 1
    assert (await verify_store(a)).unsealed == 0


async def test_a_stalled_session_holding_row_locks_is_ended_within_its_bound(
    replicas: list[PostgresStore],
) -> None:
    """Replica A stalls inside a save_progress (lease row locked); B, taking the saga over
    once the lease lapses, is refused promptly by `lock_timeout` and succeeds as soon as
    `idle_in_transaction_session_timeout` has ended A's transaction."""
    a, b = replicas
    stored, _ = await a.create_order(order(), None, CREATED)
    assert await a.acquire_lease(stored.order_id, "r1", ttl_s=0.2) is not None
    # A's own pooled connection, configured as the store configures every connection.
    async with a._pool.connection() as conn:  # reaching in: a replica stalling inside it
        await conn.execute("BEGIN")
        await conn.execute(  # as save_progress does first
            "SELECT 1 FROM order_leases WHERE order_id = %s FOR UPDATE", (stored.order_id,)
        )
        stalled_at = time.monotonic()
        await asyncio.sleep(0.3)  # the lease lapses
        # ...and A stops: B's takeover waits at most lock_timeout per try, then gives up.
        with pytest.raises(StorageUnavailableError, match="lock"):
            async with asyncio.timeout(PROMPT_S):
                await b.acquire_lease(stored.order_id, "r2", ttl_s=30)
        taken = None
        async with asyncio.timeout(5):
            while taken is None:
                try:
                    taken = await b.acquire_lease(stored.order_id, "r2", ttl_s=30)
                except StorageUnavailableError:
                    await asyncio.sleep(0.1)
        released_after = time.monotonic() - stalled_at
        # A wakes up: its session is gone, its half-done change with it.
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            await conn.execute("COMMIT")
    assert released_after < 1.0 + PROMPT_S
    assert taken.holder == "r2"
    assert taken.token == 2
