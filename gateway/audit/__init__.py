"""The audit log's hash chain: how an entry is hashed, how disclosed values are hashed, how a
log (or a whole store's log) is checked, and the checkpoints that anchor its head. The store
appends entries (`gateway.storage.AuditStore`); every replica runs an `AuditSealer` that
chains what was written and signs checkpoints; `partner-gateway audit verify` checks them."""

from gateway.audit._chain import (
    ChainReport,
    ChainVerifier,
    last_seq,
    values_hash,
    verify,
    verify_store,
)
from gateway.audit._checkpoint import (
    BadCheckpointError,
    CheckpointClaims,
    public_keys,
    read_checkpoint,
    read_checkpoint_file,
    sign_checkpoint,
)
from gateway.audit._sealer import AuditSealer
from gateway.storage import GENESIS_HASH, canonical_json, entry_hash

__all__ = [
    "GENESIS_HASH",
    "AuditSealer",
    "BadCheckpointError",
    "ChainReport",
    "ChainVerifier",
    "CheckpointClaims",
    "canonical_json",
    "entry_hash",
    "last_seq",
    "public_keys",
    "read_checkpoint",
    "read_checkpoint_file",
    "sign_checkpoint",
    "values_hash",
    "verify",
    "verify_store",
]
