"""Idempotency keys: a replay gets the first answer, a reuse with another request a 409.

Keys are scoped per OAuth client. The fingerprint is the method, path and canonical JSON
body, so a key reused on another operation or with other content is a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox._errors import PartnerError

__all__ = ["MAX_KEY_LENGTH", "IdempotencyStore", "StoredAnswer", "check_key"]

MAX_KEY_LENGTH = 200
# Enough for any test or benchmark run; the oldest keys are forgotten first.
_MAX_KEYS = 100_000


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int
    body: dict[str, Any]


def check_key(key: str | None) -> str:
    """The key of a mutation, or `400 invalid_request` when it is missing or too long."""
    if not key:
        raise PartnerError(
            400, "invalid_request", "Idempotency-Key header is required", "Idempotency-Key"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise PartnerError(
            400,
            "invalid_request",
            f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters",
            "Idempotency-Key",
        )
    return key


class IdempotencyStore:
    """First answers by (client, key)."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, str], StoredAnswer] = {}

    def lookup(self, client_id: str, key: str, fingerprint: str) -> StoredAnswer | None:
        """The first answer to replay, None for a new key, or `409 conflict` on reuse."""
        stored = self._answers.get((client_id, key))
        if stored is None:
            return None
        if stored.fingerprint != fingerprint:
            raise PartnerError(
                409,
                "conflict",
                "Idempotency-Key was already used with another request",
                "Idempotency-Key",
            )
        return stored

    def store(
        self, client_id: str, key: str, fingerprint: str, status: int, body: dict[str, Any]
    ) -> None:
        if len(self._answers) >= _MAX_KEYS:
            del self._answers[next(iter(self._answers))]
        self._answers[(client_id, key)] = StoredAnswer(fingerprint, status, body)
