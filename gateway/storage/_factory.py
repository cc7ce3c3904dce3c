"""Which store a gateway runs on: the embedded one unless a PostgreSQL DSN is configured."""

from __future__ import annotations

from pathlib import Path

from gateway.storage.postgres import PostgresStore
from gateway.storage.sqlite import SqliteStore

SQLITE_FILE = "gateway.sqlite3"


async def open_store(
    state_dir: Path, dsn: str | None, *, schema: str = "public"
) -> SqliteStore | PostgresStore:
    """PostgreSQL at `dsn` (in `schema`), shared by replicas; without one, SQLite under
    `state_dir`."""
    if dsn is None:
        return await SqliteStore.open(state_dir / SQLITE_FILE)
    return await PostgresStore.open(dsn, schema=schema)
