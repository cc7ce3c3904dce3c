"""The audit log: who did what with whose data, provable afterwards.

Append-only and tamper-evident: every entry carries the hash of the one before it, so
changing, removing or re-ordering a stored entry breaks the chain (`gateway.audit.verify`).
Entries describing a state change are written in the SAME transaction as that change (the
store methods take `audit=`), so the log never misses a change nor records one that did not
happen. Entries hold names and hashes of personal data, never the data itself; the records
themselves are values of `gateway.model`, their hash (`entry_hash`) is defined here.

Writing an entry and chaining it are two steps where replicas share a store: a state
change writes its record unchained (no lock: replicas never queue behind each other), and
`seal_audit` — run by one replica at a time, shortly after — gives the committed records
their place (`seq`) and hashes. A single-writer store (SQLite) chains as it writes, and its
`seal_audit` has nothing to do. Checkpoints anchor the head of the chain: a signed
`(seq, hash)` kept apart from the entries (`gateway.audit`), so losing the newest entries
shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from functools import cache
from typing import Protocol

from gateway.model import AuditBacklog, AuditCheckpoint, AuditEntry, AuditRecord

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first entry."""


class AuditStore(Protocol):
    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Appends records that go with no state change (for example a refused access), in
        one transaction of their own."""
        ...

    async def audit_entries(self, after_seq: int, limit: int) -> list[AuditEntry]:
        """Chained entries with seq > `after_seq`, in seq order, at most `limit`."""
        ...

    async def audit_head(self) -> AuditEntry | None:
        """The newest chained entry (None while the chain is empty)."""
        ...

    async def seal_audit(self, limit: int = 1000) -> int:
        """Chains up to `limit` committed records, oldest first; how many it chained (0 also
        when another replica is sealing right now). Never waits for a lock."""
        ...

    async def audit_backlog(self) -> AuditBacklog:
        """The records `seal_audit` has yet to chain."""
        ...

    async def save_audit_checkpoint(self, checkpoint: AuditCheckpoint) -> None:
        """Keeps a checkpoint; one for a seq already checkpointed is ignored."""
        ...

    async def audit_checkpoints(self, after_seq: int, limit: int) -> list[AuditCheckpoint]:
        """Checkpoints with seq > `after_seq`, in seq order, at most `limit`."""
        ...

    async def latest_audit_checkpoint(self) -> AuditCheckpoint | None: ...


def canonical_json(value: object) -> str:
    """One text for one value: sorted keys, no whitespace, ASCII only. Hashes are taken over
    this, so the same content always gives the same hash, whatever built it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@cache
def _record_fields() -> tuple[str, ...]:
    return tuple(field.name for field in fields(AuditRecord))


def entry_hash(prev_hash: str, seq: int, at: datetime, record: AuditRecord) -> str:
    """The hash of an entry: SHA-256 (hex) over `prev_hash` followed by the canonical JSON of
    `seq`, `at` (ISO 8601 in UTC, with microseconds) and every field of `record`.

    The store computes it when appending and `gateway.audit.verify` when checking, so both
    must use this one function. Adding a field to `AuditRecord` changes the hash of every
    stored entry: that needs a new version of this function, kept beside the old one."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: audit times are UTC-aware")
    content: dict[str, object] = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    for name in _record_fields():
        value = getattr(record, name)
        content[name] = list(value) if isinstance(value, tuple) else value
    return hashlib.sha256((prev_hash + canonical_json(content)).encode()).hexdigest()
