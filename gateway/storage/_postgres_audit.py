"""The audit log and the consents in the shared store, as functions on one pooled connection.

Replicas write audit records concurrently, and no replica may wait for another to do so: a
replica frozen halfway through a transaction (SIGSTOP, a network partition) would otherwise
stall every other replica's audited writes. So a state change inserts its records into
`audit_pending` in its own transaction, taking no lock (the identity column's sequence never
blocks), and `seal` chains them later: in a short transaction of its own, when it wins a
non-blocking advisory lock keyed by the schema, it moves the committed records, oldest id
first, behind the newest entry of `audit_log` with their seqs and hashes. Whoever loses the
lock simply skips the round, so a frozen sealer stalls only sealing, and only until its
transaction is ended by `idle_in_transaction_session_timeout`. A record whose transaction
commits late is chained when it becomes visible: the chain is in sealing order, and each
entry keeps the time its record was written.

The same advisory lock key serialized the direct appends of earlier versions, so a replica of
an earlier version and a sealer never chain at once during a rolling upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from gateway.model import AuditBacklog, AuditCheckpoint, AuditEntry, AuditRecord, ConsentRecord
from gateway.storage._audit_rows import (
    AUDIT_COLUMNS,
    AUDIT_SLOTS,
    CHECKPOINT_COLUMNS,
    CONSENT_COLUMNS,
    CONSENT_SLOTS,
    RECORD_COLUMNS,
    RECORD_SLOTS,
    audit_from_row,
    audit_values,
    chained_stamped,
    checkpoint_from_row,
    checkpoint_values,
    consent_from_row,
    consent_values,
    record_from_row,
    record_values,
)
from gateway.storage._rows import utc_aware

Connection = psycopg.AsyncConnection[Any]

_TRY_LOCK = (
    "SELECT pg_try_advisory_xact_lock("
    "hashtextextended('partnergateway/audit/' || COALESCE(current_schema(), ''), 0))"
)
_PENDING_ROW = f"(statement_timestamp(), {', '.join(['%s'] * RECORD_SLOTS)})"
_INSERT = f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ({', '.join(['%s'] * AUDIT_SLOTS)})"
# The committed records, oldest first, taken out of the queue in the sealing transaction.
_TAKE = f"""
    DELETE FROM audit_pending
    WHERE id IN (SELECT id FROM audit_pending ORDER BY id LIMIT %s)
    RETURNING id, at, {RECORD_COLUMNS}
"""


async def append(conn: Connection, records: Sequence[AuditRecord]) -> None:
    """Writes `records` (to be chained by `seal`) in one statement, inside the transaction
    the caller may have open: they commit, or vanish, with the change they describe."""
    if not records:
        return
    await conn.execute(
        f"INSERT INTO audit_pending (at, {RECORD_COLUMNS})"
        f" VALUES {', '.join([_PENDING_ROW] * len(records))}",
        [value for record in records for value in record_values(record)],
    )


async def append_alone(conn: Connection, records: Sequence[AuditRecord]) -> None:
    await append(conn, records)  # one statement: atomic on its own


async def seal(conn: Connection, limit: int) -> int:
    """Chains up to `limit` committed records; 0 when another sealer holds the lock."""
    async with conn.transaction():
        cur = await conn.execute(_TRY_LOCK)
        won = await cur.fetchone()
        if won is None or not won[0]:
            return 0
        cur = await conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        last = await cur.fetchone()
        cur = await conn.execute(_TAKE, (limit,))
        rows = sorted(await cur.fetchall(), key=lambda row: int(row[0]))
        if not rows:
            return 0
        entries = chained_stamped(
            None if last is None else (last[0], last[1]),
            [(_utc(row[1]), record_from_row(row[2:])) for row in rows],
        )
        await cur.executemany(_INSERT, [audit_values(entry, utc_aware) for entry in entries])
    return len(entries)


async def backlog(conn: Connection) -> AuditBacklog:
    cur = await conn.execute("SELECT count(*), min(at) FROM audit_pending")
    row = await cur.fetchone()
    if row is None:
        return AuditBacklog(0)
    return AuditBacklog(row[0], None if row[1] is None else _utc(row[1]))


async def entries(conn: Connection, after_seq: int, limit: int) -> list[AuditEntry]:
    cur = await conn.execute(
        f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > %s ORDER BY seq LIMIT %s",
        (after_seq, limit),
    )
    return [audit_from_row(row, _utc) for row in await cur.fetchall()]


async def head(conn: Connection) -> AuditEntry | None:
    cur = await conn.execute(f"SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1")
    row = await cur.fetchone()
    return audit_from_row(row, _utc) if row else None


async def save_checkpoint(conn: Connection, checkpoint: AuditCheckpoint) -> None:
    await conn.execute(
        f"INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (seq) DO NOTHING",
        checkpoint_values(checkpoint, utc_aware),
    )


async def checkpoints(conn: Connection, after_seq: int, limit: int) -> list[AuditCheckpoint]:
    cur = await conn.execute(
        f"SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE seq > %s ORDER BY seq LIMIT %s",
        (after_seq, limit),
    )
    return [checkpoint_from_row(row, _utc) for row in await cur.fetchall()]


async def latest_checkpoint(conn: Connection) -> AuditCheckpoint | None:
    cur = await conn.execute(
        f"SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"
    )
    row = await cur.fetchone()
    return checkpoint_from_row(row, _utc) if row else None


async def save_consent(
    conn: Connection, consent: ConsentRecord, audit: Sequence[AuditRecord]
) -> None:
    values = consent_values(consent, utc_aware)  # refuses a naive time before the transaction
    async with conn.transaction():
        await conn.execute(
            f"INSERT INTO consents ({CONSENT_COLUMNS})"
            f" VALUES ({', '.join(['%s'] * CONSENT_SLOTS)})",
            values,
        )
        await append(conn, audit)


async def get_consent(conn: Connection, consent_id: str) -> ConsentRecord | None:
    cur = await conn.execute(
        f"SELECT {CONSENT_COLUMNS} FROM consents WHERE consent_id = %s", (consent_id,)
    )
    row = await cur.fetchone()
    return consent_from_row(row, _utc) if row else None


async def withdraw_consent(
    conn: Connection, consent_id: str, at: datetime, audit: Sequence[AuditRecord]
) -> ConsentRecord | None:
    when = utc_aware(at)
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE consents SET withdrawn_at = COALESCE(withdrawn_at, %s)"
            f" WHERE consent_id = %s RETURNING {CONSENT_COLUMNS}",
            (when, consent_id),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        await append(conn, audit)
    return consent_from_row(row, _utc)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
