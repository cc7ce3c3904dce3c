"""The background work that keeps the audit chain whole: chaining what replicas wrote, and
signing the head into checkpoints.

Every replica runs one. Chaining is a try: the store lets one replica at a time do it and
the others skip (`AuditStore.seal_audit`), so a stalled replica delays chaining, never a
write. Checkpoints are due when the newest one in the store is older than the interval,
whichever replica took it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from joserfc.jwk import ECKey

from gateway.audit._checkpoint import checkpoint_line, sign_checkpoint
from gateway.errors import StorageUnavailableError
from gateway.model import AuditCheckpoint
from gateway.storage import AuditStore

log = logging.getLogger(__name__)

SEAL_BATCH = 1000


class AuditSealer:
    def __init__(
        self,
        store: AuditStore,
        key: ECKey,
        *,
        seal_interval_s: float = 0.5,
        checkpoint_interval_s: float = 60.0,
        checkpoint_file: Path | None = None,
    ) -> None:
        if seal_interval_s <= 0 or checkpoint_interval_s <= 0:
            raise ValueError("the audit sealer's intervals must be positive")
        self._store = store
        self._key = key
        self._seal_interval_s = seal_interval_s
        self._checkpoint_interval = timedelta(seconds=checkpoint_interval_s)
        self._file = checkpoint_file
        self._next_look = time.monotonic() + checkpoint_interval_s

    async def run(self) -> None:
        """Seals and checkpoints until cancelled; a store outage is logged and waited out."""
        while True:
            try:
                await self.seal()
                if time.monotonic() >= self._next_look:
                    self._next_look = time.monotonic() + self._checkpoint_interval.total_seconds()
                    await self.checkpoint(due_only=True)
            except StorageUnavailableError as exc:
                log.warning("audit sealing postponed: %s", exc)
            except Exception:  # the next round may succeed; a dead task never would
                log.exception("audit sealing failed; trying again")
            await asyncio.sleep(self._seal_interval_s)

    async def seal(self) -> int:
        """Chains every committed record this replica can (0 while another one seals)."""
        total = 0
        while (sealed := await self._store.seal_audit(SEAL_BATCH)) > 0:
            total += sealed
            if sealed < SEAL_BATCH:
                break
        return total

    async def checkpoint(self, *, due_only: bool = False) -> AuditCheckpoint | None:
        """Signs the head into a checkpoint, unless it is checkpointed already (or, with
        `due_only`, the newest checkpoint is younger than the interval)."""
        head = await self._store.audit_head()
        if head is None:
            return None
        latest = await self._store.latest_audit_checkpoint()
        now = datetime.now(UTC)
        if latest is not None and (
            latest.seq >= head.seq or (due_only and now - latest.at < self._checkpoint_interval)
        ):
            return None
        checkpoint = sign_checkpoint(self._key, head.seq, head.hash, now)
        await self._store.save_audit_checkpoint(checkpoint)
        if self._file is not None:
            await asyncio.to_thread(_append_line, self._file, checkpoint_line(checkpoint))
        # In the log too: a log shipped elsewhere is one more copy out of the database's reach.
        log.info("audit checkpoint of entry %d: %s", checkpoint.seq, checkpoint.jws)
        return checkpoint

    async def flush(self) -> None:
        """Seals and checkpoints what there is now (a replica stopping)."""
        await self.seal()
        await self.checkpoint()


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(line)
        file.flush()
        os.fsync(file.fileno())
