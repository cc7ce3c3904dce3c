"""What only one backend has: its migrations, its files or schemas, its connection errors."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gateway.errors import StorageUnavailableError
from gateway.model import NewEvent, OrderRecord, OrderState
from gateway.storage import PostgresStore, SqliteStore, open_store
from gateway.storage._migrations import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, statements
from gateway.storage._rows import UNFINISHED

LATEST = max(version for version, _ in SQLITE_MIGRATIONS)


CREATED = NewEvent("order_created")


def an_order(order_id: str = "ord-1") -> OrderRecord:
    now = datetime.now(UTC)
    return OrderRecord(order_id, "partner-1", "sol-1", OrderState.PENDING, False, (), now, now)


def test_both_dialects_have_the_same_migration_versions() -> None:
    versions = [v for v, _ in SQLITE_MIGRATIONS]
    assert versions == [v for v, _ in POSTGRES_MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))


# --- SQLite ----------------------------------------------------------------------------------


def sqlite_versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY 1")]


async def test_sqlite_upgrades_a_file_made_at_version_1(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
    for statement in statements(SQLITE_MIGRATIONS[0][1]):
        db.execute(statement)
    db.execute("INSERT INTO schema_migrations VALUES (1)")
    db.execute("INSERT INTO solutions VALUES ('sol-0', 'partner-1', 'fp', '2030-01-01', x'00')")
    db.close()

    store = await SqliteStore.open(path)
    try:
        assert await store.load_solution("sol-0") == b"\x00"
        assert (await store.create_order(an_order(), None, CREATED))[1]
    finally:
        await store.aclose()
    assert sqlite_versions(path) == list(range(1, LATEST + 1))


async def test_sqlite_finds_unfinished_orders_through_their_index(tmp_path: Path) -> None:
    """The query must repeat the partial index's predicate, or every recovery scans all."""
    path = tmp_path / "gateway.sqlite3"
    await (await SqliteStore.open(path)).aclose()
    with sqlite3.connect(path) as db:
        plan = db.execute(
            f"EXPLAIN QUERY PLAN SELECT order_id FROM orders WHERE {UNFINISHED}"
            " ORDER BY created_at, order_id LIMIT 10"
        ).fetchall()
    assert "USING INDEX orders_unfinished" in str(plan)


async def test_sqlite_a_cancelled_call_keeps_the_connection_until_its_thread_ends(
    tmp_path: Path,
) -> None:
    """A worker thread cannot be cancelled; the next call must not share its transaction."""
    path = tmp_path / "gateway.sqlite3"
    store = await SqliteStore.open(path)
    other_process = sqlite3.connect(path, isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")  # the store's next write waits for this
        first = asyncio.create_task(store.create_order(an_order("ord-1"), None, CREATED))
        await asyncio.sleep(0.1)
        first.cancel()
        second = asyncio.create_task(store.create_order(an_order("ord-2"), None, CREATED))
        await asyncio.sleep(0.1)
        assert not first.done()  # its thread still waits on the connection: so does it
        other_process.execute("COMMIT")

        with pytest.raises(asyncio.CancelledError):
            await first
        assert (await second)[1]
        # The cancelled caller is gone, but its thread finished the work whole.
        assert await store.get_order("ord-1") is not None
    finally:
        other_process.close()
        await store.aclose()


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_versions(dsn: str, schema: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            sql.SQL("SELECT version FROM {}.schema_migrations ORDER BY 1").format(
                sql.Identifier(schema)
            )
        ).fetchall()
    return [row[0] for row in rows]


async def test_postgres_upgrades_a_schema_made_at_version_1(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(postgres_schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(postgres_schema)))
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
        for statement in statements(POSTGRES_MIGRATIONS[0][1]):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (1)")
        conn.execute("INSERT INTO solutions VALUES ('sol-0', 'partner-1', 'fp', now(), '\\x00')")

    store = await PostgresStore.open(postgres_dsn, schema=postgres_schema)
    try:
        assert await store.load_solution("sol-0") == b"\x00"
        assert (await store.create_order(an_order(), None, CREATED))[1]
    finally:
        await store.aclose()
    assert postgres_versions(postgres_dsn, postgres_schema) == list(range(1, LATEST + 1))


async def test_postgres_schemas_keep_their_data_apart(postgres_dsn: str) -> None:
    schemas = [f"t_{uuid.uuid4().hex}" for _ in range(2)]
    stores = [await PostgresStore.open(postgres_dsn, schema=s) for s in schemas]
    try:
        await stores[0].create_order(an_order(), None, CREATED)
        assert await stores[1].get_order("ord-1") is None
        assert await stores[1].unfinished_orders(10) == []
    finally:
        for store in stores:
            await store.aclose()
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


async def test_an_unreachable_postgres_is_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailableError):
        await PostgresStore.open("postgresql://postgres@127.0.0.1:1/test", timeout_s=0.5)


async def test_a_closed_postgres_store_is_storage_unavailable(
    postgres_dsn: str, postgres_schema: str
) -> None:
    store = await PostgresStore.open(postgres_dsn, schema=postgres_schema)
    await store.aclose()
    with pytest.raises(StorageUnavailableError):
        await store.get_order("ord-1")


# --- choosing one ----------------------------------------------------------------------------


async def test_open_store_is_sqlite_without_a_dsn(tmp_path: Path) -> None:
    store = await open_store(tmp_path, None)
    try:
        assert isinstance(store, SqliteStore)
        assert (tmp_path / "gateway.sqlite3").is_file()
    finally:
        await store.aclose()


async def test_open_store_is_postgres_with_a_dsn(
    tmp_path: Path, postgres_dsn: str, postgres_schema: str
) -> None:
    store = await open_store(tmp_path, postgres_dsn, schema=postgres_schema)
    try:
        assert isinstance(store, PostgresStore)
        assert not (tmp_path / "gateway.sqlite3").exists()
    finally:
        await store.aclose()
    assert postgres_versions(postgres_dsn, postgres_schema) == list(range(1, LATEST + 1))
