"""The audit log: who did what with whose data, provable afterwards.

Append-only and tamper-evident: every entry carries the hash of the one before it, so
changing, removing or re-ordering a stored entry breaks the chain (`gateway.audit.verify`).
Entries describing a state change are written in the SAME transaction as that change (the
store methods take `audit=`), so the log never misses a change nor records one that did not
happen. Entries hold names and hashes of personal data, never the data itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Protocol

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first entry."""


@dataclass(frozen=True)
class AuditRecord:
    """One audited act, as the gateway hands it to the store."""

    actor: str
    """Who: the calling partner, or "gateway" for the gateway's own partner calls (sagas)."""
    action: str
    """What: "rpc:<Service>/<Method>", or "partner:<operation>" (quote, hold, …)."""
    subject: str
    """The object acted on: a solution, order or consent id ("" when there is none)."""
    outcome: str
    """"ok", "sent", "held", "refused", "not_found", "denied", "consent_required", …"""
    purpose: str = ""
    """The consent's purpose the data was used for."""
    consent_id: str = ""
    recipient: str = ""
    """The partner personal data went to (partner calls only)."""
    fields: tuple[str, ...] = ()
    """Names of the personal-data fields disclosed, for example ("travellers[0].given_name",)."""
    values_hash: str = ""
    """SHA-256 over the canonical JSON of the disclosed values ("" when nothing was)."""


@dataclass(frozen=True)
class AuditEntry:
    """A stored audit record with its place in the chain."""

    seq: int  # 1, 2, 3… over the whole log
    at: datetime
    record: AuditRecord
    prev_hash: str
    hash: str


class AuditStore(Protocol):
    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Appends records that go with no state change (for example a refused access), in
        one transaction of their own."""
        ...

    async def audit_entries(self, after_seq: int, limit: int) -> list[AuditEntry]:
        """Entries with seq > `after_seq`, in seq order, at most `limit`."""
        ...


def canonical_json(value: object) -> str:
    """One text for one value: sorted keys, no whitespace, ASCII only. Hashes are taken over
    this, so the same content always gives the same hash, whatever built it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


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
    for field in fields(record):
        value = getattr(record, field.name)
        content[field.name] = list(value) if isinstance(value, tuple) else value
    return hashlib.sha256((prev_hash + canonical_json(content)).encode()).hexdigest()
