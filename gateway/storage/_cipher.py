"""Personal data at rest: AES-256-GCM under a key ring the database never sees.

A hold's personal data (`ComponentRecord.disclosure`) waits in the store until the hold's
outcome is known, then is erased. Erasing a row does not erase its bytes: PostgreSQL keeps
dead tuples in its data files until a vacuum reuses the space (and in its WAL), SQLite keeps
old pages in its `-wal` file and in free pages. So the stores write the data only sealed,
and erasure leaves nothing but ciphertext behind; once the key that sealed it is retired
(docs/privacy.md, "Personal data at rest"), those leftovers are noise.

A sealed value is `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id names the
ring's key, so a ring holding an old and a new key reads both while it writes with the
active one (rotation). The associated data binds the value to its row (`context`): a sealed
value copied into another order's row does not open.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PREFIX = "v1."
_NONCE_BYTES = 12  # 96 bits, random per value: NIST SP 800-38D's recommended size
_KEY_BYTES = 32


class DataKeyError(ValueError):
    """Sealed personal data that this key ring cannot open: its key is not in the ring
    (retired, or a ring from elsewhere), or the value was altered or moved."""


class DataCipher:
    """Seals and opens text with AES-256-GCM under the key `active` of `keys` (id → key)."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        for key_id, key in keys.items():
            if not KEY_ID.match(key_id):
                raise ValueError(f"data key id {key_id!r}: letters, digits, '-' and '_' only")
            if len(key) != _KEY_BYTES:
                raise ValueError(f"data key {key_id}: {len(key)} bytes, AES-256 needs 32")
        if active not in keys:
            raise ValueError(f"the active data key {active!r} is not in the key ring")
        self._aead = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active = active

    def seal(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead[self.active].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_PREFIX}{self.active}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str, context: str) -> str:
        if not is_sealed(value):
            # Written before the store sealed personal data (or by hand): left as it is,
            # and gone with the row's next erasure.
            return value
        key_id, _, body = value[len(_PREFIX) :].partition(".")
        aead = self._aead.get(key_id)
        if aead is None:
            raise DataKeyError(
                f"personal data sealed with data key {key_id!r}, which the key ring lacks"
            )
        try:
            raw = base64.urlsafe_b64decode(body)
            opened = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DataKeyError(f"sealed personal data of {context} does not authenticate") from exc
        return opened.decode()


def is_sealed(value: str) -> bool:
    return value.startswith(_PREFIX)


def new_key_id() -> str:
    """A fresh key id that says when the key was made: `k<UTC date and time>-<random>`."""
    return f"k{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def ring_document(keys: Mapping[str, bytes], active: str) -> dict[str, object]:
    """The key file's JSON: `{"active": id, "keys": {id: base64 key, ...}}`."""
    encoded = {k: base64.b64encode(v).decode() for k, v in keys.items()}
    return {"active": active, "keys": encoded}


def cipher_from_document(document: object, where: str) -> DataCipher:
    if not isinstance(document, dict):
        raise ValueError(f"{where}: not a key ring object")
    keys, active = document.get("keys"), document.get("active")
    if not isinstance(keys, dict) or not isinstance(active, str):
        raise ValueError(f'{where}: needs "active" (a key id) and "keys" (id → base64 key)')
    try:
        decoded = {str(k): base64.b64decode(str(v), validate=True) for k, v in keys.items()}
    except binascii.Error as exc:
        raise ValueError(f"{where}: a key is not base64") from exc
    return DataCipher(decoded, active)


def load_data_cipher(path: Path) -> DataCipher:
    """The key ring in `path`, created with one fresh key when missing (readable by this user
    only). Replicas sharing a store must share the file, or an order sealed by one cannot be
    resumed by another."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key_id = new_key_id()
        document = ring_document({key_id: secrets.token_bytes(_KEY_BYTES)}, key_id)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".data-keys-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(document, file)
            # A link never replaces a file: of processes racing to create it, the first wins
            # and the others read its key.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return cipher_from_document(json.loads(path.read_text(encoding="utf-8")), str(path))
