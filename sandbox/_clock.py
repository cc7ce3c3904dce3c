"""Time as the protocol writes it, and the clock a partner reads (injectable in tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "rfc3339", "rfc3339_ms", "system_clock"]

#: Seconds since the epoch, like `time.time`.
Clock = Callable[[], float]

system_clock: Clock = time.time


def rfc3339(timestamp: float) -> str:
    """`2026-12-01T09:25:00Z` (whole seconds, rounded down)."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_ms(timestamp: float) -> str:
    """`2026-12-01T09:25:00.123Z`: ledger entries need to order calls within a second."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
