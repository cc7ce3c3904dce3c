"""The shared store: PostgreSQL, for several gateway replicas at once.

psycopg 3 (async) through a `psycopg_pool.AsyncConnectionPool`. Every pooled connection is
in autocommit mode, searches only the store's schema, reads times in UTC and is bounded
(`TransactionBounds`): no statement, lock wait or idle open transaction outlives its bound,
so a replica that stalls mid-transaction (SIGSTOP, a partition) holds its row locks for
seconds, not until TCP gives up. Solutions and feedback live here; the order half
(`OrderStore`) lives in `_postgres_orders`, the audit log and consents in `_postgres_audit`,
all on the same pool. Personal data of orders is sealed with the store's `DataCipher`.
Connection trouble, and a bound overrun, become `StorageUnavailableError` (retryable); a row
that breaks a constraint (a repeated order id, say) becomes `ValueError`, as in the embedded
store.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

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
from gateway.storage import _postgres_audit as audit_log
from gateway.storage import _postgres_orders as orders
from gateway.storage._bounds import DEFAULT_BOUNDS, TransactionBounds
from gateway.storage._cipher import DataCipher
from gateway.storage._disclosures import opened, sealed, sealed_order
from gateway.storage._feedback_sql import (
    FEEDBACK_COLUMNS,
    feedback_from_row,
    feedback_values,
    kpi_query,
    kpi_rows_from,
)
from gateway.storage._migrations import POSTGRES_MIGRATIONS, statements
from gateway.storage._postgres_orders import Connection
from gateway.storage._rows import utc_aware

# Trouble that a retry may get past: the connection (including the pool's timeout and
# closing), a bound overrun (lock_timeout, statement_timeout: both OperationalError), or a
# session the server ended for idling in a transaction (an InternalError, oddly: a replica
# that stalled and woke up again meets it).
_UNAVAILABLE = (psycopg.OperationalError, psycopg.errors.IdleInTransactionSessionTimeout)


class PostgresStore:
    def __init__(
        self, pool: AsyncConnectionPool[Connection], cipher: DataCipher | None = None
    ) -> None:
        self._pool = pool
        self._cipher = cipher

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        schema: str = "public",
        min_size: int = 1,
        max_size: int = 10,
        timeout_s: float = 30.0,
        cipher: DataCipher | None = None,
        bounds: TransactionBounds = DEFAULT_BOUNDS,
    ) -> PostgresStore:
        """Connects, creates `schema` if missing and brings it to the newest migration.

        `timeout_s` bounds the wait for a connection, here and on every later call. Without
        a `cipher` the store refuses to keep personal data."""
        setup = sql.SQL("SET search_path TO {}; SET TimeZone TO 'UTC'; {}").format(
            sql.Identifier(schema), bounds.statements()
        )

        async def configure(conn: Connection) -> None:
            await conn.execute(setup)

        pool = AsyncConnectionPool[Connection](
            dsn,
            min_size=min_size,
            max_size=max_size,
            # The process id names the replica in pg_stat_activity, for operators.
            kwargs={"autocommit": True, "application_name": f"partner-gateway/{os.getpid()}"},
            configure=configure,
            # A connection the server dropped (restart, failover) is replaced, not handed out.
            check=AsyncConnectionPool.check_connection,
            timeout=timeout_s,
            name=f"gateway-store/{schema}",
            open=False,  # opening in the constructor is deprecated for async pools
        )
        store = cls(pool, cipher)
        try:
            await pool.open(wait=True, timeout=timeout_s)
            await store._migrate(schema)
        except psycopg.OperationalError as exc:
            await pool.close()
            raise StorageUnavailableError(f"shared store unavailable: {exc}") from exc
        except BaseException:
            await pool.close()
            raise
        return store

    async def _migrate(self, schema: str) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            # Replicas starting together queue here, however long a migration takes; the
            # lock ends with the transaction.
            await conn.execute("SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0")
            await conn.execute("SELECT pg_advisory_xact_lock(%s::bigint)", (_lock_key(schema),))
            cur = await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            if await cur.fetchone() is None:
                # Only when missing: CREATE SCHEMA IF NOT EXISTS needs the privilege anyway.
                await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            applied = {row[0] for row in await cur.fetchall()}
            for version, script in POSTGRES_MIGRATIONS:
                if version in applied:
                    continue
                for statement in statements(script):
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_migrations VALUES (%s)", (version,))

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            raise StorageUnavailableError(f"shared store unavailable: {exc}") from exc
        except psycopg.IntegrityError as exc:
            raise ValueError(f"refused by the shared store: {exc}") from exc

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
        async with self._connection() as conn:
            if request is not None:
                earlier = await _find_request(conn, owner, request[0])
                if earlier is not None:
                    return earlier
            saved = False
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO solutions (solution_id, owner, fingerprint, created_at, body,"
                    " recipe) VALUES (%s, %s, %s, now(), %s, %s)",
                    (solution_id, owner, fingerprint, body, recipe),
                )
                if request is not None:
                    # Waits for a concurrent insert of the same id to commit, then does nothing.
                    claimed = await conn.execute(
                        "INSERT INTO compose_requests VALUES (%s, %s, %s, %s, now())"
                        " ON CONFLICT DO NOTHING RETURNING solution_id",
                        (owner, request[0], request[1], solution_id),
                    )
                    if await claimed.fetchone() is None:
                        raise psycopg.Rollback()  # the other insert won: keep nothing of ours
                await audit_log.append(conn, audit)
                saved = True
            if saved or request is None:
                return None
            winner = await _find_request(conn, owner, request[0])
            if winner is None:
                raise ValueError(f"request {request[0]} lost to a request that vanished")
            return winner

    async def find_request(self, owner: str, request_id: str) -> StoredRequest | None:
        async with self._connection() as conn:
            return await _find_request(conn, owner, request_id)

    async def load_solution(self, solution_id: str) -> bytes | None:
        async with self._connection() as conn:
            cur = await conn.execute(
                "SELECT body FROM solutions WHERE solution_id = %s", (solution_id,)
            )
            row = await cur.fetchone()
            return bytes(row[0]) if row else None

    async def save_feedback(self, feedback: FeedbackRecord) -> tuple[FeedbackRecord, bool]:
        async with self._connection() as conn:
            # One statement: a concurrent insert of the same request id is waited for, then
            # this one does nothing and the earlier feedback is read below.
            cur = await conn.execute(
                f"INSERT INTO feedback ({FEEDBACK_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (owner, request_id) DO NOTHING RETURNING created_at",
                (*feedback_values(feedback), utc_aware(feedback.created_at)),
            )
            row = await cur.fetchone()
            if row is not None:
                return replace(feedback, created_at=row[0].astimezone(UTC)), True
            cur = await conn.execute(
                f"SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE owner = %s AND request_id = %s",
                (feedback.owner, feedback.request_id),
            )
            earlier = await cur.fetchone()
            if earlier is None:
                raise ValueError(f"feedback request {feedback.request_id} vanished")
            return feedback_from_row(earlier[:-1], earlier[-1].astimezone(UTC)), False

    async def kpi_rows(self, partner_id: str | None, recipe: str | None) -> list[KpiRow]:
        query, params = kpi_query(partner_id, recipe, "%s")
        async with self._connection() as conn:
            cur = await conn.execute(query, params)
            return kpi_rows_from(await cur.fetchall())

    async def create_order(
        self,
        order: OrderRecord,
        request: tuple[str, str] | None,
        event: NewEvent,
        *,
        audit: Sequence[AuditRecord] = (),
    ) -> tuple[OrderRecord, bool]:
        order = sealed_order(self._cipher, order)
        async with self._connection() as conn:
            stored, created = await orders.create_order(conn, order, request, event, audit)
        return opened(self._cipher, stored), created

    async def find_order_request(self, owner: str, request_id: str) -> StoredOrderRequest | None:
        async with self._connection() as conn:
            return await orders.find_order_request(conn, owner, request_id)

    async def get_order(self, order_id: str) -> OrderRecord | None:
        async with self._connection() as conn:
            found = await orders.get_order(conn, order_id)
        return None if found is None else opened(self._cipher, found)

    async def list_orders(
        self, owner: str, page_size: int, after: tuple[datetime, str] | None
    ) -> list[OrderRecord]:
        async with self._connection() as conn:
            found = await orders.list_orders(conn, owner, page_size, after)
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
        components = sealed(self._cipher, lease.order_id, components)
        async with self._connection() as conn:
            saved = await orders.save_progress(conn, lease, state, components, step, events, audit)
        return opened(self._cipher, saved)

    async def events(self, order_id: str, after_seq: int, limit: int) -> list[OrderEvent]:
        async with self._connection() as conn:
            return await orders.events(conn, order_id, after_seq, limit)

    async def acquire_lease(self, order_id: str, holder: str, ttl_s: float) -> Lease | None:
        async with self._connection() as conn:
            return await orders.acquire_lease(conn, order_id, holder, ttl_s)

    async def renew_lease(self, lease: Lease, ttl_s: float) -> Lease:
        async with self._connection() as conn:
            return await orders.renew_lease(conn, lease, ttl_s)

    async def release_lease(self, lease: Lease) -> None:
        async with self._connection() as conn:
            await orders.release_lease(conn, lease)

    async def unfinished_orders(self, limit: int) -> list[str]:
        async with self._connection() as conn:
            return await orders.unfinished_orders(conn, limit)

    async def steps(self, order_id: str) -> list[SagaStep]:
        async with self._connection() as conn:
            return await orders.steps(conn, order_id)

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        async with self._connection() as conn:
            await audit_log.append_alone(conn, records)

    async def audit_entries(self, after_seq: int, limit: int) -> list[AuditEntry]:
        async with self._connection() as conn:
            return await audit_log.entries(conn, after_seq, limit)

    async def audit_head(self) -> AuditEntry | None:
        async with self._connection() as conn:
            return await audit_log.head(conn)

    async def seal_audit(self, limit: int = 1000) -> int:
        async with self._connection() as conn:
            return await audit_log.seal(conn, limit)

    async def audit_backlog(self) -> AuditBacklog:
        async with self._connection() as conn:
            return await audit_log.backlog(conn)

    async def save_audit_checkpoint(self, checkpoint: AuditCheckpoint) -> None:
        async with self._connection() as conn:
            await audit_log.save_checkpoint(conn, checkpoint)

    async def audit_checkpoints(self, after_seq: int, limit: int) -> list[AuditCheckpoint]:
        async with self._connection() as conn:
            return await audit_log.checkpoints(conn, after_seq, limit)

    async def latest_audit_checkpoint(self) -> AuditCheckpoint | None:
        async with self._connection() as conn:
            return await audit_log.latest_checkpoint(conn)

    async def save_consent(self, consent: ConsentRecord, audit: Sequence[AuditRecord] = ()) -> None:
        async with self._connection() as conn:
            await audit_log.save_consent(conn, consent, audit)

    async def get_consent(self, consent_id: str) -> ConsentRecord | None:
        async with self._connection() as conn:
            return await audit_log.get_consent(conn, consent_id)

    async def withdraw_consent(
        self, consent_id: str, at: datetime, audit: Sequence[AuditRecord] = ()
    ) -> ConsentRecord | None:
        async with self._connection() as conn:
            return await audit_log.withdraw_consent(conn, consent_id, at, audit)

    async def aclose(self) -> None:
        await self._pool.close()


async def _find_request(conn: Connection, owner: str, request_id: str) -> StoredRequest | None:
    cur = await conn.execute(
        "SELECT request_hash, solution_id FROM compose_requests"
        " WHERE owner = %s AND request_id = %s",
        (owner, request_id),
    )
    row = await cur.fetchone()
    return StoredRequest(request_hash=row[0], solution_id=row[1]) if row else None


def _lock_key(schema: str) -> int:
    """The advisory lock that serializes migrations of one schema (a signed 64-bit int)."""
    digest = hashlib.blake2b(f"partnergateway/migrate/{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
