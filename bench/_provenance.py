"""Which code a run measured: the commit, marked when the working tree differs from it."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def commit() -> str:
    """`git rev-parse --short HEAD`, with "+dirty" when files differ from it (untracked
    ones included, ignored ones not); "unknown" outside a git checkout."""
    head = _git("rev-parse", "--short", "HEAD")
    if head is None:
        return "unknown"
    return f"{head}+dirty" if _git("status", "--porcelain") else head


def now() -> str:
    """When the run ended, UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
