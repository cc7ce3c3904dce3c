"""The embedded store: one SQLite file under the state directory.

WAL so readers never wait for the writer; `busy_timeout` so a second process waits instead
of failing; `BEGIN IMMEDIATE` so a write transaction takes the lock up front. sqlite3 blocks,
so every call runs in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from gateway.errors import StorageUnavailableError
from gateway.storage._interface import StoredRequest
from gateway.storage._migrations import MIGRATIONS

T = TypeVar("T")


class SqliteStore:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        def connect() -> sqlite3.Connection:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.execute("PRAGMA foreign_keys=ON")
            _migrate(db)
            return db

        return cls(await asyncio.to_thread(connect))

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        async with self._lock:
            try:
                return await asyncio.to_thread(work, self._db)
            except sqlite3.OperationalError as exc:
                raise StorageUnavailableError(f"embedded store unavailable: {exc}") from exc

    async def save_solution(
        self,
        solution_id: str,
        owner: str,
        fingerprint: str,
        body: bytes,
        request: tuple[str, str] | None,
    ) -> StoredRequest | None:
        now = datetime.now(UTC).isoformat()

        def work(db: sqlite3.Connection) -> StoredRequest | None:
            db.execute("BEGIN IMMEDIATE")
            try:
                if request is not None:
                    earlier = _find_request(db, owner, request[0])
                    if earlier is not None:
                        db.execute("ROLLBACK")
                        return earlier
                db.execute(
                    "INSERT INTO solutions VALUES (?, ?, ?, ?, ?)",
                    (solution_id, owner, fingerprint, now, body),
                )
                if request is not None:
                    db.execute(
                        "INSERT INTO compose_requests VALUES (?, ?, ?, ?, ?)",
                        (owner, request[0], request[1], solution_id, now),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return None

        return await self._run(work)

    async def find_request(self, owner: str, request_id: str) -> StoredRequest | None:
        return await self._run(lambda db: _find_request(db, owner, request_id))

    async def load_solution(self, solution_id: str) -> bytes | None:
        def work(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                "SELECT body FROM solutions WHERE solution_id = ?", (solution_id,)
            ).fetchone()
            return bytes(row[0]) if row else None

        return await self._run(work)

    async def aclose(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._db.close)


def _find_request(db: sqlite3.Connection, owner: str, request_id: str) -> StoredRequest | None:
    row = db.execute(
        "SELECT request_hash, solution_id FROM compose_requests WHERE owner = ? AND request_id = ?",
        (owner, request_id),
    ).fetchone()
    return StoredRequest(request_hash=row[0], solution_id=row[1]) if row else None


def _migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
    applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
    for version, script in MIGRATIONS:
        if version in applied:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations VALUES (?)", (version,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
