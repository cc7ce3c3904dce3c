"""The ledger: every protocol call that reached a partner, refused ones included."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from sandbox._clock import rfc3339_ms

__all__ = ["Ledger", "LedgerEntry"]

# Long benchmarks must not grow a partner without bound; tests look at far fewer entries.
_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class LedgerEntry:
    """One call: what was asked, by whom, and the status it got."""

    seq: int
    at: float
    operation: str
    method: str
    path: str
    client_id: str | None
    idempotency_key: str | None
    status: int
    request: Any
    traceparent: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": rfc3339_ms(self.at),
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "client_id": self.client_id,
            "idempotency_key": self.idempotency_key,
            "status": self.status,
            "request": self.request,
            "traceparent": self.traceparent,
        }


class Ledger:
    """Entries in the order calls completed; `seq` keeps counting across `clear()`."""

    def __init__(self) -> None:
        self._entries: deque[LedgerEntry] = deque(maxlen=_MAX_ENTRIES)
        self._seq = 0

    def record(
        self,
        *,
        at: float,
        operation: str,
        method: str,
        path: str,
        client_id: str | None,
        idempotency_key: str | None,
        status: int,
        request: Any,
        traceparent: str | None,
    ) -> LedgerEntry:
        self._seq += 1
        entry = LedgerEntry(
            self._seq,
            at,
            operation,
            method,
            path,
            client_id,
            idempotency_key,
            status,
            request,
            traceparent,
        )
        self._entries.append(entry)
        return entry

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        return tuple(self._entries)

    def of(self, operation: str) -> tuple[LedgerEntry, ...]:
        """The entries of one operation (`quote`, `hold`, …)."""
        return tuple(entry for entry in self._entries if entry.operation == operation)

    def clear(self) -> None:
        self._entries.clear()
