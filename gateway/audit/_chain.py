"""Checking the audit log's hash chain.

Each entry's hash covers its content and the hash of the entry before it
(`gateway.storage.entry_hash`), so an entry changed in the database no longer matches its
hash, and one removed or re-ordered breaks the seq count or the link after it. Someone who
rewrites an entry AND re-hashes every later one builds a valid chain of their own, and
someone who deletes the newest entries leaves one: only a head hash kept elsewhere shows
that. The gateway signs its head into checkpoints (`gateway.audit._checkpoint`), and
`verify_store` checks every checkpoint it can trust against the chain; a head hash written
down at an earlier check (`ChainReport.head_hash`) does the same by hand.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from joserfc.jwk import ECKey

from gateway.audit._checkpoint import BadCheckpointError, CheckpointClaims, read_checkpoint
from gateway.model import AuditCheckpoint, AuditEntry
from gateway.storage import GENESIS_HASH, AuditStore, canonical_json, entry_hash


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
    checkpoints: int = 0
    """Trusted checkpoints found to match the chain."""
    last_checkpoint: CheckpointClaims | None = None
    """The newest of them."""
    foreign_checkpoints: int = 0
    """Checkpoints signed by keys not given to the check: they prove nothing here."""
    signatures_checked: bool = True
    """False when no key was given: checkpoints were compared, their signatures not checked."""
    unsealed: int = 0
    """Records written but not chained yet (a replica chains them within seconds)."""
    oldest_unsealed_at: datetime | None = None


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


class _Checkpoints:
    """A store's checkpoints (paged) and some from elsewhere, handed out in seq order, each
    read once: as the chain is walked, those up to the entry reached are compared with it."""

    def __init__(self, store: AuditStore, extra: Sequence[AuditCheckpoint], batch: int) -> None:
        self._store = store
        self._batch = batch
        self._queue = deque(sorted(extra, key=lambda c: c.seq))
        self._read_after = 0
        self._exhausted = False

    async def upto(self, seq: int | None) -> list[AuditCheckpoint]:
        """The checkpoints not handed out yet with seq <= `seq` (None: all of them)."""
        while not self._exhausted and (seq is None or self._read_after <= seq):
            page = await self._store.audit_checkpoints(self._read_after, self._batch)
            self._queue = deque(sorted([*self._queue, *page], key=lambda c: c.seq))
            if len(page) < self._batch:
                self._exhausted = True
            else:
                self._read_after = page[-1].seq
        taken = []
        while self._queue and (seq is None or self._queue[0].seq <= seq):
            taken.append(self._queue.popleft())
        return taken


@dataclass
class _Tally:
    keys: Mapping[str, ECKey] | None
    matched: int = 0
    foreign: int = 0
    last: CheckpointClaims | None = None

    def trusted(self, checkpoint: AuditCheckpoint) -> CheckpointClaims | None:
        claims = read_checkpoint(checkpoint, self.keys)
        if claims is None:
            self.foreign += 1
        return claims

    def report(self, report: ChainReport) -> ChainReport:
        return replace(
            report,
            checkpoints=self.matched,
            last_checkpoint=self.last,
            foreign_checkpoints=self.foreign,
            signatures_checked=self.keys is not None,
        )


async def verify_store(
    store: AuditStore,
    batch: int = 1000,
    progress: Callable[[int], None] | None = None,
    *,
    keys: Mapping[str, ECKey] | None = None,
    checkpoints: Sequence[AuditCheckpoint] = (),
) -> ChainReport:
    """`verify` over a store's log, read `batch` entries at a time, and every checkpoint (the
    store's, and `checkpoints` from elsewhere) signed by one of `keys` (public keys by key id,
    `gateway.audit.public_keys`) against it; `keys=None` compares checkpoints without
    checking their signatures. `progress` is told how many entries are checked after each
    batch. Also reports the records not chained yet."""
    if batch < 1:
        raise ValueError(f"batch must be positive, not {batch}")
    verifier = ChainVerifier()
    pending = _Checkpoints(store, checkpoints, batch)
    tally = _Tally(keys)
    after = 0
    try:
        while page := await store.audit_entries(after, batch):
            for entry in page:
                if not verifier.feed(entry):
                    return tally.report(verifier.report())
                for checkpoint in await pending.upto(entry.seq):
                    claims = tally.trusted(checkpoint)
                    if claims is None:
                        continue
                    if (claims.seq, claims.hash) != (entry.seq, entry.hash):
                        return _checkpoint_broken(verifier, tally, claims)
                    tally.matched += 1
                    tally.last = claims
            after = page[-1].seq
            if progress is not None:
                progress(verifier.checked)
        for checkpoint in await pending.upto(None):
            claims = tally.trusted(checkpoint)
            if claims is not None:  # names an entry past the end: the newest are gone
                return _checkpoint_broken(verifier, tally, claims)
    except BadCheckpointError as exc:
        broken = replace(verifier.report(), ok=False, first_bad_seq=exc.seq, problem=str(exc))
        return tally.report(broken)
    backlog = await store.audit_backlog()
    return tally.report(
        replace(
            verifier.report(),
            unsealed=backlog.unsealed,
            oldest_unsealed_at=backlog.oldest_at,
        )
    )


def _checkpoint_broken(
    verifier: ChainVerifier, tally: _Tally, claims: CheckpointClaims
) -> ChainReport:
    end = verifier.checked
    at = claims.at.isoformat(timespec="seconds")
    if claims.seq > end:
        problem = (
            f"entries missing: the checkpoint of {at} names entry {claims.seq},"
            f" the log ends at entry {end}"
        )
        bad = end + 1
    else:
        problem = f"differs from the checkpoint of {at}: the log was rewritten up to here"
        bad = claims.seq
    report = ChainReport(
        False, min(end, bad - 1), bad, problem, head_hash=verifier.report().head_hash
    )
    return tally.report(report)


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
