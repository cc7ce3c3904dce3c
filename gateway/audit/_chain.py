"""Checking the audit log's hash chain.

Each entry's hash covers its content and the hash of the entry before it
(`gateway.storage.entry_hash`), so an entry changed in the database no longer matches its
hash, and one removed or re-ordered breaks the seq count or the link after it. Someone who
rewrites an entry AND re-hashes every later one builds a valid chain of their own: only a
head hash kept elsewhere (`ChainReport.head_hash`, written down at an earlier check) shows
that, or the loss of the newest entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gateway.storage import GENESIS_HASH, AuditEntry, AuditStore, canonical_json, entry_hash


def values_hash(values: object) -> str:
    """SHA-256 (hex) of the canonical JSON of disclosed values, for `AuditRecord.values_hash`:
    proves later which data went out without keeping the data. JSON values only."""
    return hashlib.sha256(canonical_json(values).encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    """Entries found intact (all of them when `ok`; those before the first bad one if not)."""
    first_bad_seq: int | None = None
    problem: str = ""
    head_hash: str = GENESIS_HASH
    """The hash of the last intact entry: note it down to detect a rewrite later."""


class ChainVerifier:
    """Checks entries one at a time, in seq order, so a long log needs no memory."""

    def __init__(self) -> None:
        self._checked = 0
        self._prev = GENESIS_HASH
        self._bad: tuple[int, str] | None = None

    @property
    def checked(self) -> int:
        """Entries found intact so far."""
        return self._checked

    def feed(self, entry: AuditEntry) -> bool:
        """Checks the next entry; False once the chain is broken (later entries are ignored)."""
        if self._bad is not None:
            return False
        expected = self._checked + 1
        if entry.seq != expected:
            if entry.seq > expected:
                self._bad = (expected, f"entry missing (the log goes on at entry {entry.seq})")
            else:
                self._bad = (entry.seq, f"out of order (expected entry {expected})")
        elif entry.prev_hash != self._prev:
            before = "the genesis hash" if expected == 1 else f"entry {expected - 1}"
            self._bad = (entry.seq, f"does not link to {before}")
        elif entry_hash(entry.prev_hash, entry.seq, entry.at, entry.record) != entry.hash:
            self._bad = (entry.seq, "hash does not match its content")
        else:
            self._checked = expected
            self._prev = entry.hash
            return True
        return False

    def report(self) -> ChainReport:
        if self._bad is None:
            return ChainReport(ok=True, checked=self._checked, head_hash=self._prev)
        seq, problem = self._bad
        return ChainReport(False, self._checked, seq, problem, head_hash=self._prev)


def verify(entries: Iterable[AuditEntry]) -> ChainReport:
    """Checks a whole log, from entry 1 on: seqs 1, 2, 3… without gaps, each `prev_hash`
    the hash before it (the first: `GENESIS_HASH`), each hash recomputed from its content."""
    verifier = ChainVerifier()
    for entry in entries:
        if not verifier.feed(entry):
            break
    return verifier.report()


async def verify_store(
    store: AuditStore, batch: int = 1000, progress: Callable[[int], None] | None = None
) -> ChainReport:
    """`verify` over a store's log, read `batch` entries at a time; `progress` is told how
    many entries are checked after each batch."""
    if batch < 1:
        raise ValueError(f"batch must be positive, not {batch}")
    verifier = ChainVerifier()
    after = 0
    while page := await store.audit_entries(after, batch):
        for entry in page:
            if not verifier.feed(entry):
                return verifier.report()
        after = page[-1].seq
        if progress is not None:
            progress(verifier.checked)
    return verifier.report()


async def last_seq(store: AuditStore) -> int:
    """The highest seq in the log (0 when empty), found in O(log n) reads of one entry."""
    if not await store.audit_entries(0, 1):
        return 0
    low, high = 0, 1  # an entry above `low` exists; find a `high` with none above it
    while await store.audit_entries(high, 1):
        low, high = high, high * 2
    while high - low > 1:  # invariant: something above low, nothing above high
        middle = (low + high) // 2
        if await store.audit_entries(middle, 1):
            low = middle
        else:
            high = middle
    return high
