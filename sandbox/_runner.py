"""Run sandbox partners as real HTTP servers on loopback, inside the current event loop.

Each partner gets its own socket, bound here (port 0 picks a free port) so its URL is known
before it serves, and its own uvicorn server. The servers never touch signal handlers: the
process that embeds them (the gateway, a test) owns SIGINT and SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import uvicorn
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.trace import TracerProvider
from starlette.types import ASGIApp

from sandbox._app import create_partner_app
from sandbox._clock import Clock, system_clock
from sandbox._defaults import DEFAULT_PARTNERS
from sandbox._spec import PartnerSpec
from sandbox._state import PartnerState

__all__ = ["RunningPartner", "SandboxCluster", "start_sandbox"]

# How long shutdown waits for calls in flight (a latency knob) before cancelling them.
_GRACEFUL_SHUTDOWN_S = 1
# Longer than any client pool keeps an idle connection (httpx 5 s, aiohttp 15 s), so the
# client always closes first and never reuses a connection the server is just closing.
_KEEP_ALIVE_S = 75
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals alone and says when it accepts connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn would install SIGINT/SIGTERM handlers; the embedding process owns those.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@dataclass(frozen=True)
class RunningPartner:
    """A partner serving on `base_url`, with its in-process `state` (knobs, ledger, key)."""

    spec: PartnerSpec
    base_url: str
    token_url: str
    audience: str
    state: PartnerState


@dataclass
class _Serving:
    server: _EmbeddedServer
    task: asyncio.Task[None]
    sock: socket.socket


class SandboxCluster:
    """The running partners by id; `aclose()` (or leaving `async with`) stops them all."""

    def __init__(self) -> None:
        self.partners: dict[str, RunningPartner] = {}
        self._serving: list[_Serving] = []

    def __getitem__(self, partner_id: str) -> RunningPartner:
        return self.partners[partner_id]

    async def aclose(self) -> None:
        """Stop every server and wait for it; safe to call twice."""
        serving, self._serving = self._serving, []
        for item in serving:
            item.server.should_exit = True
        results = await asyncio.gather(*(item.task for item in serving), return_exceptions=True)
        for item in serving:
            item.sock.close()  # uvicorn closes it too; this covers a server that never started
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _start(
        self,
        spec: PartnerSpec,
        host: str,
        port: int,
        tracer_provider: TracerProvider | None,
        clock: Clock,
    ) -> RunningPartner:
        sock = _bind(host, port)
        url_host = _WILDCARD_HOSTS.get(host, host)
        if ":" in url_host:
            url_host = f"[{url_host}]"
        base_url = f"http://{url_host}:{sock.getsockname()[1]}"
        try:
            state = PartnerState(spec, issuer=base_url, clock=clock)
            app: ASGIApp = create_partner_app(state)
            if tracer_provider is not None:
                # Server spans continue the caller's `traceparent`: one trace across companies.
                app = OpenTelemetryMiddleware(
                    app, tracer_provider=tracer_provider, exclude_spans=["receive", "send"]
                )
            server = _EmbeddedServer(_config(app))
            task = asyncio.create_task(
                server.serve(sockets=[sock]), name=f"sandbox:{spec.partner_id}"
            )
        except BaseException:
            sock.close()
            raise
        self._serving.append(_Serving(server, task, sock))
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            task.result()  # raises why the server stopped
            raise RuntimeError(f"sandbox partner {spec.partner_id} stopped while starting")
        partner = RunningPartner(spec, base_url, f"{base_url}/oauth/token", spec.audience, state)
        self.partners[spec.partner_id] = partner
        return partner


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted sockets only when it does, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _config(app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http="h11",
        ws="none",
        lifespan="off",
        log_config=None,  # the embedding process configures logging
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
        timeout_keep_alive=_KEEP_ALIVE_S,
    )


async def start_sandbox(
    specs: Sequence[PartnerSpec] = DEFAULT_PARTNERS,
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    tracer_provider: TracerProvider | None = None,
    clock: Clock = system_clock,
) -> SandboxCluster:
    """Start one HTTP server per spec in this event loop; `ports` maps ids to ports (0 = free).

    With a `tracer_provider`, every partner traces its requests (OpenTelemetry ASGI).
    `clock` is the partners' time (tokens, offers, holds, flights still on sale); tests
    that need "now" to stand still pass their own."""
    ids = [spec.partner_id for spec in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"partner ids must be unique: {ids}")
    ports = ports or {}
    cluster = SandboxCluster()
    try:
        for spec in specs:
            await cluster._start(spec, host, ports.get(spec.partner_id, 0), tracer_provider, clock)
    except BaseException:
        await cluster.aclose()
        raise
    return cluster
