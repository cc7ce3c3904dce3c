"""One `store` per test on each backend: a fresh SQLite file, and a fresh PostgreSQL schema
(`postgres_dsn` and `postgres_schema` come from tests/conftest.py). `database` is the same
database reached past the store, as an operator (or an attacker) with access to it would.
Every store of a test seals personal data with the test's key ring (`cipher`)."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from gateway.storage import DataCipher, PostgresStore, SqliteStore

Store = SqliteStore | PostgresStore
OpenStore = Callable[[], Awaitable[Store]]


@dataclass(frozen=True)
class Database:
    backend: str  # "sqlite" or "postgres"
    path: Path | None = None  # SQLite
    dsn: str = ""  # PostgreSQL, with `schema`
    schema: str = ""

    def execute(self, statement: str) -> list[tuple[Any, ...]]:
        """Runs one statement in a transaction of its own, on a connection of its own."""
        if self.path is not None:
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                return db.execute(statement).fetchall()
            finally:
                db.close()
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            cur = conn.execute(statement.encode())
            return cur.fetchall() if cur.description else []


# Sync: it asks for the PostgreSQL fixtures, which only a sync fixture can set up here.
@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return Database("sqlite", path=tmp_path / "gateway.sqlite3")
    return Database(
        "postgres",
        dsn=request.getfixturevalue("postgres_dsn"),
        schema=request.getfixturevalue("postgres_schema"),
    )


@pytest.fixture
def cipher() -> DataCipher:
    return DataCipher({"test-key": secrets.token_bytes(32)}, "test-key")


@pytest.fixture
async def open_store(database: Database, cipher: DataCipher) -> AsyncIterator[OpenStore]:
    """Opens another store on the test's database: a second process, or a second replica."""
    opened: list[Store] = []

    async def connect() -> Store:
        if database.path is not None:
            return await SqliteStore.open(database.path, cipher=cipher)
        return await PostgresStore.open(
            database.dsn, schema=database.schema, max_size=4, cipher=cipher
        )

    async def open_one() -> Store:
        store = await connect()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.aclose()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    return await open_store()
