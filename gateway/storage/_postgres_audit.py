"""The audit log and the consents in the shared store, as functions on one pooled connection.

Replicas append concurrently, and each entry names the hash of the one before it, so reading
the last entry and writing the next must never interleave: two appenders reading the same
last entry would fork the chain. `append` therefore takes a transaction-scoped advisory lock
first, keyed by the schema (each schema has its own log), and holds it to the commit. Read
Committed gives every statement a fresh snapshot, so the read after the lock sees what the
previous holder committed. Callers append last in their transaction, and nothing waits for
another lock while holding this one, so it cannot deadlock. The `seq` primary key would
refuse a fork anyway; the lock makes appenders queue instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import pq

from gateway.storage._audit import AuditEntry, AuditRecord
from gateway.storage._audit_rows import (
    AUDIT_COLUMNS,
    AUDIT_SLOTS,
    CONSENT_COLUMNS,
    CONSENT_SLOTS,
    audit_from_row,
    audit_values,
    chained,
    consent_from_row,
    consent_values,
)
from gateway.storage._consents import ConsentRecord
from gateway.storage._rows import utc_aware

Connection = psycopg.AsyncConnection[Any]

_LOCK = (
    "SELECT pg_advisory_xact_lock("
    "hashtextextended('partnergateway/audit/' || COALESCE(current_schema(), ''), 0))"
)
# The clock after the lock (clock_timestamp, not now(): that is the transaction's start, so
# a transaction that waited long would stamp its entry earlier than the one before it).
_HEAD = """
    SELECT clock_timestamp(), last.seq, last.hash
    FROM (SELECT 1) AS here
    LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS last ON true
"""
_INSERT = f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ({', '.join(['%s'] * AUDIT_SLOTS)})"


async def append(conn: Connection, records: Sequence[AuditRecord]) -> None:
    """Appends `records` within the transaction the caller has open."""
    if not records:
        return
    if conn.info.transaction_status != pq.TransactionStatus.INTRANS:
        # Outside a transaction the lock would end with its own statement.
        raise RuntimeError("audit entries are appended inside a transaction")
    await conn.execute(_LOCK)
    cur = await conn.execute(_HEAD)
    head = await cur.fetchone()
    if head is None:
        raise RuntimeError("the audit log's head query returned no row")
    at, seq, digest = head
    entries = chained(None if seq is None else (seq, digest), _utc(at), records)
    await cur.executemany(_INSERT, [audit_values(entry, utc_aware) for entry in entries])


async def append_alone(conn: Connection, records: Sequence[AuditRecord]) -> None:
    if records:
        async with conn.transaction():
            await append(conn, records)


async def entries(conn: Connection, after_seq: int, limit: int) -> list[AuditEntry]:
    cur = await conn.execute(
        f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > %s ORDER BY seq LIMIT %s",
        (after_seq, limit),
    )
    return [audit_from_row(row, _utc) for row in await cur.fetchall()]


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
