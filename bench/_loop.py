"""Choosing the event loop of a benchmark process: uvloop when asked and installed."""

from __future__ import annotations

import asyncio
import importlib.util


def uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def install_uvloop() -> None:
    """Makes every later `asyncio.run` use uvloop (raises ImportError without it)."""
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
