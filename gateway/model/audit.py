"""The audit log's values: who did what with whose data (`AuditRecord`), its place in the
hash chain (`AuditEntry`), signed anchors of the chain's head (`AuditCheckpoint`) and what is
left to chain (`AuditBacklog`). Entries hold names and hashes of personal data, never the data
itself. How an entry's hash is computed lives with the store (`gateway.storage.entry_hash`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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


@dataclass(frozen=True)
class AuditCheckpoint:
    """A signed statement that the chain's entry `seq` had hash `hash` at `at`."""

    seq: int
    hash: str
    at: datetime
    jws: str
    """JWS compact serialization over `seq`, `hash` and `at` (`gateway.audit.sign_checkpoint`):
    the columns beside it are for queries, the signature is the proof."""


@dataclass(frozen=True)
class AuditBacklog:
    """Records written but not chained yet (`gateway.storage.AuditStore.seal_audit`)."""

    unsealed: int
    oldest_at: datetime | None = None
