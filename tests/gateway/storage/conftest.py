"""One `store` per test on each backend: a fresh SQLite file, and a fresh PostgreSQL schema
(`postgres_dsn` and `postgres_schema` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from gateway.storage import PostgresStore, SqliteStore

Store = SqliteStore | PostgresStore
OpenStore = Callable[[], Awaitable[Store]]


@pytest.fixture(params=["sqlite", "postgres"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenStore]:
    """Opens another store on the test's database: a second process, or a second replica."""
    opened: list[Store] = []
    if request.param == "sqlite":
        path = tmp_path / "gateway.sqlite3"

        async def connect() -> Store:
            return await SqliteStore.open(path)
    else:
        dsn: str = request.getfixturevalue("postgres_dsn")
        schema: str = request.getfixturevalue("postgres_schema")

        async def connect() -> Store:
            return await PostgresStore.open(dsn, schema=schema, max_size=4)

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
