"""What this command line composed and booked, and as which partner.

The gateway shows a partner only its own solutions, orders and consents, so a later command
must act as the partner that composed or booked. The command line remembers that partner per
id in `<state_dir>/cli.sqlite3` and acts as it when `--partner` is not given; so
`compose`, then `book SOL`, `order ORD`, `cancel ORD` and `watch ORD` need no `--partner`.

Only ids and partner ids are kept: no personal data. Remembering is a convenience: a store that
cannot be written costs the convenience, never the command.
"""

from __future__ import annotations

import contextlib
import enum
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["MEMORY_FILE", "Memory", "Subject"]

MEMORY_FILE = "cli.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS acted (
    subject TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (subject, subject_id)
)
"""


class Subject(enum.StrEnum):
    """What an id names."""

    SOLUTION = "solution"
    ORDER = "order"
    CONSENT = "consent"


class Memory:
    """The partner each solution, order and consent id was composed or booked as."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def under(cls, state_dir: Path) -> Memory:
        return cls(state_dir / MEMORY_FILE)

    def remember(self, subject: Subject, subject_id: str, partner_id: str) -> None:
        if not (subject_id and partner_id):
            return
        # Best effort (module docstring): a read-only state directory must not fail a booking
        # that already happened.
        with contextlib.suppress(OSError, sqlite3.Error), self._connect(create=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO acted VALUES (?, ?, ?, ?)",
                (subject.value, subject_id, partner_id, time.time()),
            )

    def partner_of(self, subject: Subject, subject_id: str) -> str | None:
        """The partner `subject_id` was composed or booked as here, or None."""
        with contextlib.suppress(OSError, sqlite3.Error), self._connect() as db:
            row = db.execute(
                "SELECT partner_id FROM acted WHERE subject = ? AND subject_id = ?",
                (subject.value, subject_id),
            ).fetchone()
            return None if row is None else str(row[0])
        return None

    def partners(self, subject: Subject) -> list[str]:
        """Every partner something of `subject` was done as here, most recent first."""
        with contextlib.suppress(OSError, sqlite3.Error), self._connect() as db:
            rows = db.execute(
                "SELECT partner_id FROM acted WHERE subject = ? "
                "GROUP BY partner_id ORDER BY max(at) DESC",
                (subject.value,),
            ).fetchall()
            return [str(r[0]) for r in rows]
        return []

    @contextlib.contextmanager
    def _connect(self, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.is_file():
            raise OSError(f"no {self.path}")  # reading never creates the file
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Two commands may run at once (a `watch` beside a `cancel`): wait, do not fail.
        db = sqlite3.connect(self.path, timeout=5)
        try:
            with db:  # one transaction, committed on success
                if create:
                    db.execute(_SCHEMA)
                yield db
        finally:
            db.close()
