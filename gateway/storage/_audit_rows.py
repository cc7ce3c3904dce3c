"""Audit entries and consents ↔ table rows, shared by both backends.

Their columns are the same; only times differ (ISO text in SQLite, timestamptz in
PostgreSQL), so each backend passes its own `stamp` (datetime → column) and `read`
(column → datetime). Lists are JSON text on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gateway.model import AuditCheckpoint, AuditEntry, AuditRecord, ConsentRecord
from gateway.storage._audit import GENESIS_HASH, entry_hash

Stamp = Callable[[datetime], Any]
Read = Callable[[Any], datetime]

# The `audit_log` columns, in `audit_values` order.
AUDIT_COLUMNS = (
    "seq, at, actor, action, subject, outcome, purpose, consent_id, recipient, fields,"
    " values_hash, prev_hash, hash"
)
AUDIT_SLOTS = 13

# The `consents` columns, in `consent_values` order.
CONSENT_COLUMNS = (
    "consent_id, owner, purpose, partner_ids, partner_kinds, given_at, notice_version,"
    " created_at, withdrawn_at"
)
CONSENT_SLOTS = 9


def chained(
    last: tuple[int, str] | None, at: datetime, records: Sequence[AuditRecord]
) -> list[AuditEntry]:
    """The entries that append `records` after the last stored one, `(seq, hash)` (None
    when the log is empty), all stamped `at`. The caller holds the log's write lock."""
    return chained_stamped(last, [(at, record) for record in records])


def chained_stamped(
    last: tuple[int, str] | None, stamped: Sequence[tuple[datetime, AuditRecord]]
) -> list[AuditEntry]:
    """As `chained`, each record with the time it was written."""
    seq, prev = last if last is not None else (0, GENESIS_HASH)
    entries: list[AuditEntry] = []
    for at, record in stamped:
        seq += 1
        digest = entry_hash(prev, seq, at, record)
        entries.append(AuditEntry(seq=seq, at=at, record=record, prev_hash=prev, hash=digest))
        prev = digest
    return entries


# The columns of a record, as `audit_log` and `audit_pending` (PostgreSQL) both keep them.
RECORD_COLUMNS = (
    "actor, action, subject, outcome, purpose, consent_id, recipient, fields, values_hash"
)
RECORD_SLOTS = 9


def record_values(r: AuditRecord) -> tuple[Any, ...]:
    return (
        r.actor,
        r.action,
        r.subject,
        r.outcome,
        r.purpose,
        r.consent_id,
        r.recipient,
        json.dumps(list(r.fields)),
        r.values_hash,
    )


def record_from_row(row: Sequence[Any]) -> AuditRecord:
    actor, action, subject, outcome, purpose, consent_id, recipient, fields, values_hash = row
    return AuditRecord(
        actor=actor,
        action=action,
        subject=subject,
        outcome=outcome,
        purpose=purpose,
        consent_id=consent_id,
        recipient=recipient,
        fields=tuple(json.loads(fields)),
        values_hash=values_hash,
    )


# The `audit_checkpoints` columns, in `checkpoint_values` order.
CHECKPOINT_COLUMNS = "seq, hash, at, jws"


def checkpoint_values(c: AuditCheckpoint, stamp: Stamp) -> tuple[Any, ...]:
    return (c.seq, c.hash, stamp(c.at), c.jws)


def checkpoint_from_row(row: Sequence[Any], read: Read) -> AuditCheckpoint:
    seq, digest, at, jws = row
    return AuditCheckpoint(seq=seq, hash=digest, at=read(at), jws=jws)


def audit_values(entry: AuditEntry, stamp: Stamp) -> tuple[Any, ...]:
    return (
        entry.seq,
        stamp(entry.at),
        *record_values(entry.record),
        entry.prev_hash,
        entry.hash,
    )


def audit_from_row(row: Sequence[Any], read: Read) -> AuditEntry:
    seq, at, *rest = row
    record = record_from_row(rest[:RECORD_SLOTS])
    prev_hash, digest = rest[RECORD_SLOTS:]
    return AuditEntry(seq=seq, at=read(at), record=record, prev_hash=prev_hash, hash=digest)


def consent_values(c: ConsentRecord, stamp: Stamp) -> tuple[Any, ...]:
    return (
        c.consent_id,
        c.owner,
        c.purpose,
        json.dumps(list(c.partner_ids)),
        json.dumps(list(c.partner_kinds)),
        stamp(c.given_at),
        c.notice_version,
        stamp(c.created_at),
        None if c.withdrawn_at is None else stamp(c.withdrawn_at),
    )


def consent_from_row(row: Sequence[Any], read: Read) -> ConsentRecord:
    consent_id, owner, purpose, ids, kinds, given_at, notice, created_at, withdrawn_at = row
    return ConsentRecord(
        consent_id=consent_id,
        owner=owner,
        purpose=purpose,
        partner_ids=tuple(json.loads(ids)),
        partner_kinds=tuple(json.loads(kinds)),
        given_at=read(given_at),
        notice_version=notice,
        created_at=read(created_at),
        withdrawn_at=None if withdrawn_at is None else read(withdrawn_at),
    )
