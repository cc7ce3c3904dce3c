"""Logging of the serving commands, arranged so that a person reads one account of the start.

`serve` prints where everything listens for people; while it starts, the log records saying the
same ("Started server process" of every embedded HTTP server, "gateway listening…") would only
interleave JSON with that text. So the start logs warnings and errors only, and the configured
level applies from the moment the human lines are out. uvicorn's own lifecycle lines stay
below the level for good: every listener is named by the gateway itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from gateway.telemetry import configure_logging

__all__ = ["quiet_start", "setup_logging"]

_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def setup_logging(level: str) -> None:
    configure_logging(level)
    for name in _UVICORN_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def quiet_start() -> Iterator[None]:
    """Warnings and errors only inside the block; the configured level again after it."""
    root = logging.getLogger()
    configured = root.level
    root.setLevel(max(configured, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(configured)
