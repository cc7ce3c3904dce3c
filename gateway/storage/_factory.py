"""Which store a gateway runs on: the embedded one unless a PostgreSQL DSN is configured."""

from __future__ import annotations

from pathlib import Path

from gateway.storage._bounds import DEFAULT_BOUNDS, TransactionBounds
from gateway.storage._cipher import DataCipher
from gateway.storage.postgres import PostgresStore
from gateway.storage.sqlite import SqliteStore

SQLITE_FILE = "gateway.sqlite3"
DATA_KEY_FILE = "data-keys.json"
"""The key ring's file in the state directory, unless configured elsewhere."""


async def open_store(
    state_dir: Path,
    dsn: str | None,
    *,
    schema: str = "public",
    cipher: DataCipher | None = None,
    bounds: TransactionBounds = DEFAULT_BOUNDS,
) -> SqliteStore | PostgresStore:
    """PostgreSQL at `dsn` (in `schema`, its sessions held to `bounds`), shared by replicas;
    without one, SQLite under `state_dir`. Personal data is kept only sealed with `cipher`;
    a store opened without one (to read the audit log, say) refuses to keep any."""
    if dsn is None:
        return await SqliteStore.open(state_dir / SQLITE_FILE, cipher=cipher)
    return await PostgresStore.open(dsn, schema=schema, cipher=cipher, bounds=bounds)
