"""One `store` per test on each backend: a fresh SQLite file, and a fresh PostgreSQL schema.

PostgreSQL comes from `PSG_TEST_POSTGRES_DSN`. Without a reachable server the PostgreSQL
cases are skipped on a workstation but fail in CI (`CI` set), so CI never passes by
silently testing one backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gateway.storage import PostgresStore, SqliteStore

Store = SqliteStore | PostgresStore
OpenStore = Callable[[], Awaitable[Store]]

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


# Both are plain fixtures: `open_store` asks for them only in its PostgreSQL case, from
# inside the event loop, where an async fixture cannot be set up.
@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    dsn = os.environ.get("PSG_TEST_POSTGRES_DSN", DEFAULT_DSN)
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if "CI" in os.environ:
            pytest.fail(f"CI needs PostgreSQL at {dsn}: {exc}")
        pytest.skip(f"no PostgreSQL at {dsn} (set PSG_TEST_POSTGRES_DSN): {exc}")
    return dsn


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A schema name of this test's own; the stores create it, teardown drops it."""
    schema = f"t_{uuid.uuid4().hex}"
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


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
