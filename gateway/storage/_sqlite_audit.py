"""The audit log and the consents in the embedded store, as blocking functions on its one
connection (`SqliteStore` runs each in a worker thread under its lock).

Appending reads the last entry and writes the next ones inside the caller's write
transaction: `BEGIN IMMEDIATE` holds the file's one write lock from the start, so no other
process can append in between and fork the chain. Every entry is chained as it is written,
so there is never anything to seal (`gateway.storage.AuditStore.seal_audit`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from gateway.model import AuditCheckpoint, AuditEntry, AuditRecord, ConsentRecord
from gateway.storage._audit_rows import (
    AUDIT_COLUMNS,
    AUDIT_SLOTS,
    CHECKPOINT_COLUMNS,
    CONSENT_COLUMNS,
    CONSENT_SLOTS,
    audit_from_row,
    audit_values,
    chained,
    checkpoint_from_row,
    checkpoint_values,
    consent_from_row,
    consent_values,
)
from gateway.storage._sqlite_tx import from_text, to_text, writing


def append(db: sqlite3.Connection, records: Sequence[AuditRecord]) -> None:
    """Appends `records` within the write transaction the caller has open."""
    if not records:
        return
    if not db.in_transaction:
        raise RuntimeError("audit entries are appended inside a write transaction")
    last = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    entries = chained((last[0], last[1]) if last else None, datetime.now(UTC), records)
    db.executemany(
        f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ({', '.join('?' * AUDIT_SLOTS)})",
        [audit_values(entry, to_text) for entry in entries],
    )


def append_alone(db: sqlite3.Connection, records: Sequence[AuditRecord]) -> None:
    if records:
        with writing(db):
            append(db, records)


def entries(db: sqlite3.Connection, after_seq: int, limit: int) -> list[AuditEntry]:
    rows = db.execute(
        f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [audit_from_row(row, from_text) for row in rows]


def head(db: sqlite3.Connection) -> AuditEntry | None:
    row = db.execute(f"SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return audit_from_row(row, from_text) if row else None


def save_checkpoint(db: sqlite3.Connection, checkpoint: AuditCheckpoint) -> None:
    with writing(db):
        db.execute(
            f"INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (seq) DO NOTHING",
            checkpoint_values(checkpoint, to_text),
        )


def checkpoints(db: sqlite3.Connection, after_seq: int, limit: int) -> list[AuditCheckpoint]:
    rows = db.execute(
        f"SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [checkpoint_from_row(row, from_text) for row in rows]


def latest_checkpoint(db: sqlite3.Connection) -> AuditCheckpoint | None:
    row = db.execute(
        f"SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return checkpoint_from_row(row, from_text) if row else None


def save_consent(
    db: sqlite3.Connection, consent: ConsentRecord, audit: Sequence[AuditRecord]
) -> None:
    values = consent_values(consent, to_text)  # refuses a naive time before the transaction
    with writing(db):
        db.execute(
            f"INSERT INTO consents ({CONSENT_COLUMNS}) VALUES ({', '.join('?' * CONSENT_SLOTS)})",
            values,
        )
        append(db, audit)


def get_consent(db: sqlite3.Connection, consent_id: str) -> ConsentRecord | None:
    row = db.execute(
        f"SELECT {CONSENT_COLUMNS} FROM consents WHERE consent_id = ?", (consent_id,)
    ).fetchone()
    return consent_from_row(row, from_text) if row else None


def withdraw_consent(
    db: sqlite3.Connection, consent_id: str, at: datetime, audit: Sequence[AuditRecord]
) -> ConsentRecord | None:
    when = to_text(at)
    with writing(db):
        updated = db.execute(
            "UPDATE consents SET withdrawn_at = COALESCE(withdrawn_at, ?) WHERE consent_id = ?",
            (when, consent_id),
        )
        if updated.rowcount != 1:
            return None
        append(db, audit)
        return get_consent(db, consent_id)
