"""The audit log's hash chain: how an entry is hashed, how disclosed values are hashed, and
how a log (or a whole store's log) is checked. The store appends entries
(`gateway.storage.AuditStore`); `partner-gateway audit verify` checks them."""

from gateway.audit._chain import (
    ChainReport,
    ChainVerifier,
    last_seq,
    values_hash,
    verify,
    verify_store,
)
from gateway.storage import GENESIS_HASH, canonical_json, entry_hash

__all__ = [
    "GENESIS_HASH",
    "ChainReport",
    "ChainVerifier",
    "canonical_json",
    "entry_hash",
    "last_seq",
    "values_hash",
    "verify",
    "verify_store",
]
