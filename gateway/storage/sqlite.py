"""The embedded store: one SQLite file under the state directory.

WAL so readers never wait for the writer; `busy_timeout` so a second process waits instead
of failing (and a stalled one holds the others up for that long at most); `BEGIN IMMEDIATE`
so a write transaction takes the lock up front. sqlite3 blocks, so every call runs in a
worker thread, one batch at a time: calls that queue while a batch runs share the next
transaction and its COMMIT (`_sqlite_batch`, group commit). Solutions and feedback live
here; the order half (`OrderStore`) lives in `_sqlite_orders`, the audit log and consents in
`_sqlite_audit`, all on the same connection. Personal data of orders is sealed with the store's
`DataCipher`, and `secure_delete` zeroes what a change or erasure frees in the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from gateway.errors import StorageUnavailableError
from gateway.model import (
    AuditBacklog,
    AuditCheckpoint,
    AuditEntry,
    AuditRecord,
    ComponentRecord,
    ConsentRecord,
    FeedbackRecord,
    KpiRow,
    Lease,
    NewEvent,
    OrderEvent,
    OrderRecord,
    OrderState,
    SagaStep,
    StoredOrderRequest,
    StoredRequest,
)
from gateway.storage import _sqlite_audit as audit_log
from gateway.storage import _sqlite_orders as orders
from gateway.storage._cipher import DataCipher
from gateway.storage._disclosures import opened, sealed, sealed_order
from gateway.storage._feedback_sql import (
    FEEDBACK_COLUMNS,
    feedback_from_row,
    feedback_values,
    kpi_query,
    kpi_rows_from,
)
from gateway.storage._migrations import SQLITE_MIGRATIONS, statements
from gateway.storage._sqlite_batch import GroupCommitter
from gateway.storage._sqlite_tx import from_text, now_text, reading, to_text, writing

T = TypeVar("T")


class SqliteStore:
    def __init__(self, connection: sqlite3.Connection, cipher: DataCipher | None = None) -> None:
        self._db = connection
        # Every call goes through here: one worker thread at a time on the one connection,
        # and whatever queued meanwhile shares one transaction (group commit).
        self._batches = GroupCommitter(connection)
        self._cipher = cipher

    @classmethod
    async def open(cls, path: Path, *, cipher: DataCipher | None = None) -> SqliteStore:
        """Opens (creating) the file and brings it to the newest migration. Without a
        `cipher` the store refuses to keep personal data."""

        def connect() -> sqlite3.Connection:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            try:
                # busy_timeout first: switching to WAL takes a lock another process may hold.
                db.execute("PRAGMA busy_timeout=5000")
                _enable_wal(db)
                db.execute("PRAGMA foreign_keys=ON")
                # Freed content is overwritten with zeros in its page rather than left in
                # free space. Older copies of a page may linger in the WAL until SQLite
                # reuses it, which is why personal data is only ever written sealed.
                db.execute("PRAGMA secure_delete=ON")
                _migrate(db)
            except BaseException:
                db.close()
                raise
            return db

        return cls(await asyncio.to_thread(connect), cipher)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return await self._batches.run(work)
        except sqlite3.OperationalError as exc:
            raise StorageUnavailableError(f"embedded store unavailable: {exc}") from exc
        except sqlite3.IntegrityError as exc:  # a repeated order id, say: as in PostgreSQL
            raise ValueError(f"refused by the embedded store: {exc}") from exc

    async def save_solution(
        self,
        solution_id: str,
        owner: str,
        fingerprint: str,
        body: bytes,
        request: tuple[str, str] | None,
        *,
        recipe: str = "",
        audit: Sequence[AuditRecord] = (),
    ) -> StoredRequest | None:
        def work(db: sqlite3.Connection) -> StoredRequest | None:
            with writing(db):
                if request is not None:
                    earlier = _find_request(db, owner, request[0])
                    if earlier is not None:
                        return earlier
                now = now_text()
                db.execute(
                    "INSERT INTO solutions (solution_id, owner, fingerprint, created_at, body,"
                    " recipe) VALUES (?, ?, ?, ?, ?, ?)",
                    (solution_id, owner, fingerprint, now, body, recipe),
                )
                if request is not None:
                    db.execute(
                        "INSERT INTO compose_requests VALUES (?, ?, ?, ?, ?)",
                        (owner, request[0], request[1], solution_id, now),
                    )
                audit_log.append(db, audit)
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

    async def save_feedback(self, feedback: FeedbackRecord) -> tuple[FeedbackRecord, bool]:
        def work(db: sqlite3.Connection) -> tuple[FeedbackRecord, bool]:
            with writing(db):
                earlier = _find_feedback(db, feedback.owner, feedback.request_id)
                if earlier is not None:
                    return earlier, False
                created = to_text(feedback.created_at)
                db.execute(
                    f"INSERT INTO feedback ({FEEDBACK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*feedback_values(feedback), created),
                )
                return replace(feedback, created_at=from_text(created)), True

        return await self._run(work)

    async def kpi_rows(self, partner_id: str | None, recipe: str | None) -> list[KpiRow]:
        query, params = kpi_query(partner_id, recipe, "?")

        def work(db: sqlite3.Connection) -> list[KpiRow]:
            with reading(db):
                return kpi_rows_from(db.execute(query, params).fetchall())

        return await self._run(work)

    async def create_order(
        self,
        order: OrderRecord,
        request: tuple[str, str] | None,
        event: NewEvent,
        *,
        audit: Sequence[AuditRecord] = (),
    ) -> tuple[OrderRecord, bool]:
        order = sealed_order(self._cipher, order)
        stored, created = await self._run(
            lambda db: orders.create_order(db, order, request, event, audit)
        )
        return opened(self._cipher, stored), created

    async def find_order_request(self, owner: str, request_id: str) -> StoredOrderRequest | None:
        return await self._run(lambda db: orders.find_order_request(db, owner, request_id))

    async def get_order(self, order_id: str) -> OrderRecord | None:
        found = await self._run(lambda db: orders.get_order(db, order_id))
        return None if found is None else opened(self._cipher, found)

    async def list_orders(
        self, owner: str, page_size: int, after: tuple[datetime, str] | None
    ) -> list[OrderRecord]:
        found = await self._run(lambda db: orders.list_orders(db, owner, page_size, after))
        return [opened(self._cipher, order) for order in found]

    async def save_progress(
        self,
        lease: Lease,
        *,
        state: OrderState | None = None,
        components: Sequence[ComponentRecord] = (),
        step: SagaStep | None = None,
        events: Sequence[NewEvent] = (),
        audit: Sequence[AuditRecord] = (),
    ) -> OrderRecord:
        kept = sealed(self._cipher, lease.order_id, components)
        saved = await self._run(
            lambda db: orders.save_progress(db, lease, state, kept, step, events, audit)
        )
        return opened(self._cipher, saved)

    async def events(self, order_id: str, after_seq: int, limit: int) -> list[OrderEvent]:
        return await self._run(lambda db: orders.events(db, order_id, after_seq, limit))

    async def acquire_lease(self, order_id: str, holder: str, ttl_s: float) -> Lease | None:
        return await self._run(lambda db: orders.acquire_lease(db, order_id, holder, ttl_s))

    async def renew_lease(self, lease: Lease, ttl_s: float) -> Lease:
        return await self._run(lambda db: orders.renew_lease(db, lease, ttl_s))

    async def release_lease(self, lease: Lease) -> None:
        await self._run(lambda db: orders.release_lease(db, lease))

    async def unfinished_orders(self, limit: int) -> list[str]:
        return await self._run(lambda db: orders.unfinished_orders(db, limit))

    async def steps(self, order_id: str) -> list[SagaStep]:
        return await self._run(lambda db: orders.steps(db, order_id))

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        await self._run(lambda db: audit_log.append_alone(db, records))

    async def audit_entries(self, after_seq: int, limit: int) -> list[AuditEntry]:
        return await self._run(lambda db: audit_log.entries(db, after_seq, limit))

    async def audit_head(self) -> AuditEntry | None:
        return await self._run(audit_log.head)

    async def seal_audit(self, limit: int = 1000) -> int:
        return 0  # every entry is chained as it is written

    async def audit_backlog(self) -> AuditBacklog:
        return AuditBacklog(0)

    async def save_audit_checkpoint(self, checkpoint: AuditCheckpoint) -> None:
        await self._run(lambda db: audit_log.save_checkpoint(db, checkpoint))

    async def audit_checkpoints(self, after_seq: int, limit: int) -> list[AuditCheckpoint]:
        return await self._run(lambda db: audit_log.checkpoints(db, after_seq, limit))

    async def latest_audit_checkpoint(self) -> AuditCheckpoint | None:
        return await self._run(audit_log.latest_checkpoint)

    async def save_consent(self, consent: ConsentRecord, audit: Sequence[AuditRecord] = ()) -> None:
        await self._run(lambda db: audit_log.save_consent(db, consent, audit))

    async def get_consent(self, consent_id: str) -> ConsentRecord | None:
        return await self._run(lambda db: audit_log.get_consent(db, consent_id))

    async def withdraw_consent(
        self, consent_id: str, at: datetime, audit: Sequence[AuditRecord] = ()
    ) -> ConsentRecord | None:
        return await self._run(lambda db: audit_log.withdraw_consent(db, consent_id, at, audit))

    async def aclose(self) -> None:
        await self._batches.aclose()
        await asyncio.to_thread(self._db.close)


def _find_request(db: sqlite3.Connection, owner: str, request_id: str) -> StoredRequest | None:
    row = db.execute(
        "SELECT request_hash, solution_id FROM compose_requests WHERE owner = ? AND request_id = ?",
        (owner, request_id),
    ).fetchone()
    return StoredRequest(request_hash=row[0], solution_id=row[1]) if row else None


def _find_feedback(db: sqlite3.Connection, owner: str, request_id: str) -> FeedbackRecord | None:
    row = db.execute(
        f"SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE owner = ? AND request_id = ?",
        (owner, request_id),
    ).fetchone()
    return feedback_from_row(row[:-1], from_text(row[-1])) if row else None


def _migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
    # One IMMEDIATE transaction reads what is applied and applies the rest, so two processes
    # opening the same file at once cannot both apply a migration.
    with writing(db):
        applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
        for version, script in SQLITE_MIGRATIONS:
            if version in applied:
                continue
            for statement in statements(script):
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations VALUES (?)", (version,))


def _enable_wal(db: sqlite3.Connection, patience_s: float = 5.0) -> None:
    """Switches to WAL. SQLite answers `database is locked` at once, without consulting
    busy_timeout, when another connection is switching the same new file at that moment,
    so this one waits its turn by hand (a blocking wait: it runs in a worker thread)."""
    give_up = time.monotonic() + patience_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
            time.sleep(0.01)
