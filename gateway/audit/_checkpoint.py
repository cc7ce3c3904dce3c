"""Checkpoints: the chain's head, signed, kept apart from the chain.

The hash chain shows an entry changed, removed or re-ordered in the middle, but not the
newest entries cut off: what remains is a valid chain. A checkpoint is a JWS (ES256, the
gateway's signing key) over `{"seq", "hash", "at"}` of the head at that moment, kept in its
own append-only table (and, if configured, a file elsewhere, and the log). `audit verify`
checks every checkpoint it can trust against the chain: a checkpoint naming an entry the
chain no longer has, or a different hash for it, means the log lost or rewrote entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from gateway.model import AuditCheckpoint
from gateway.storage import canonical_json

CHECKPOINT_TYPE = "psg-audit-checkpoint"
"""The `typ` header of a checkpoint, so no other JWS of the same key passes for one."""
_ALGORITHMS = ["ES256"]


class BadCheckpointError(Exception):
    """A checkpoint that claims a trusted key's signature but does not carry it."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq
        """The entry the checkpoint names (as its columns say), when known."""


@dataclass(frozen=True)
class CheckpointClaims:
    """What a checkpoint's signature vouches for."""

    seq: int
    hash: str
    at: datetime
    key_id: str


def sign_checkpoint(key: ECKey, seq: int, head_hash: str, at: datetime) -> AuditCheckpoint:
    """A checkpoint of entry `seq`, whose hash is `head_hash`, taken at `at` (UTC-aware)."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: checkpoint times are UTC-aware")
    payload = {"seq": seq, "hash": head_hash, "at": at.isoformat(timespec="microseconds")}
    header = {"alg": "ES256", "kid": key.kid, "typ": CHECKPOINT_TYPE}
    token = jws.serialize_compact(header, canonical_json(payload), key, algorithms=_ALGORITHMS)
    return AuditCheckpoint(seq=seq, hash=head_hash, at=at, jws=token)


def public_keys(keys: Iterable[ECKey]) -> dict[str, ECKey]:
    """The public halves of `keys`, by key id, as `read_checkpoint` takes them."""
    return {
        str(key.kid or key.thumbprint()): ECKey.import_key(key.as_dict(private=False))
        for key in keys
    }


def read_checkpoint(
    checkpoint: AuditCheckpoint, keys: Mapping[str, ECKey] | None
) -> CheckpointClaims | None:
    """The claims of a checkpoint signed by one of `keys` (by key id); None when it names a
    key not among them (signed elsewhere: it proves nothing here). `keys=None`: signatures
    are not checked (no key at hand), the claims are read as they stand.

    Raises `BadCheckpointError` for a forged or damaged checkpoint, or one whose columns
    disagree with what it signs."""
    try:
        parts = jws.extract_compact(checkpoint.jws.encode())
        header = parts.headers()
        if header.get("typ") != CHECKPOINT_TYPE or header.get("alg") not in _ALGORITHMS:
            raise BadCheckpointError(
                f"checkpoint of entry {checkpoint.seq}: not a checkpoint", checkpoint.seq
            )
        key_id = str(header.get("kid", ""))
        if keys is not None:
            key = keys.get(key_id)
            if key is None:
                return None
            parts = jws.deserialize_compact(checkpoint.jws, key, algorithms=_ALGORITHMS)
        claims = _claims(json.loads(parts.payload), key_id)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise BadCheckpointError(
            f"checkpoint of entry {checkpoint.seq}: signature does not verify ({exc})",
            checkpoint.seq,
        ) from exc
    if (claims.seq, claims.hash) != (checkpoint.seq, checkpoint.hash):
        raise BadCheckpointError(
            f"checkpoint of entry {checkpoint.seq}: its columns differ from what it signs",
            checkpoint.seq,
        )
    return claims


def _claims(payload: Any, key_id: str) -> CheckpointClaims:
    if not isinstance(payload, dict):
        raise ValueError("payload is not an object")
    seq, digest, at = payload["seq"], payload["hash"], payload["at"]
    if not isinstance(seq, int) or not isinstance(digest, str) or not isinstance(at, str):
        raise ValueError("payload fields have the wrong types")
    return CheckpointClaims(seq=seq, hash=digest, at=datetime.fromisoformat(at), key_id=key_id)


def checkpoint_line(checkpoint: AuditCheckpoint) -> str:
    """A checkpoint as one line of a checkpoint file: its JWS, which carries everything."""
    return checkpoint.jws + "\n"


def read_checkpoint_file(path: Path) -> list[AuditCheckpoint]:
    """The checkpoints of a checkpoint file (one JWS a line; blank lines skipped). The columns
    are filled from each JWS's payload, unverified: `read_checkpoint` checks them."""
    found: list[AuditCheckpoint] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        token = line.strip()
        if not token:
            continue
        try:
            claims = _claims(json.loads(jws.extract_compact(token.encode()).payload), "")
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise BadCheckpointError(f"{path}:{number}: not a checkpoint ({exc})") from exc
        found.append(AuditCheckpoint(claims.seq, claims.hash, claims.at, token))
    return found
