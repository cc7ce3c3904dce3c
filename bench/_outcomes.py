"""What became of one measured call, and a count of why calls failed, for the report.

A call answers `None` when it succeeded in full, else a short reason for people ("DEADLINE_
EXCEEDED", "partner airline-a timeout"). Reasons are grouped as they are, so they carry no
ids: a summary reads "12 DEADLINE_EXCEEDED, 3 partner airline-a timeout".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

Outcome = str | None
"""None: the call succeeded in full; else why not."""

_MAX_REASON = 90


def reason(text: str) -> str:
    """`text` on one line and cut short, so that reasons group and the table stays legible."""
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REASON else f"{line[: _MAX_REASON - 1]}…"


def describe(exc: BaseException) -> str:
    """An exception a call raised, as a failure reason."""
    detail = str(exc)
    return reason(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)


def summarise(failures: Mapping[str, int]) -> str:
    """ "12 DEADLINE_EXCEEDED, 3 partner X timeout", most frequent first; "" for none."""
    ordered = Counter(failures).most_common()
    return ", ".join(f"{count} {why}" for why, count in ordered)
