"""Serving the page's backend on a bound socket, inside the caller's event loop."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

import httpx2

from gateway.auth import serving
from gateway.web._backend import CustomerPage, customer_page_app

__all__ = ["serving_customer_page"]


@contextlib.asynccontextmanager
async def serving_customer_page(page: CustomerPage, sock: socket.socket) -> AsyncIterator[str]:
    """The page's backend serving on the bound `sock` until the block ends; yields its URL.
    The socket is closed after."""
    host, port = sock.getsockname()[:2]
    async with (
        httpx2.AsyncClient(timeout=10, trust_env=False) as http,
        serving(customer_page_app(page, http), sock),
    ):
        yield f"http://{host}:{port}/"
