"""Wiring the gateway from settings and running it: start, serve, drain, close."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
from grpc_health.v1._async import HealthServicer

from bundles import load_recipes
from gateway.partners import PartnerDirectory
from gateway.server import build_server, set_serving
from gateway.service import SolutionService
from gateway.settings import GatewaySettings
from gateway.storage import SqliteStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningGateway:
    server: grpc.aio.Server
    port: int
    health: HealthServicer
    directory: PartnerDirectory
    service: SolutionService

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@asynccontextmanager
async def running_gateway(
    settings: GatewaySettings, address: str | None = None
) -> AsyncIterator[RunningGateway]:
    """A started gateway; on exit it stops taking calls, drains, and closes its resources."""
    recipes = load_recipes(settings.composition.recipe_dirs)
    directory = PartnerDirectory.from_configs(
        settings.partner_configs(), {p.id: p.adapter for p in settings.partners}
    )
    store = await SqliteStore.open(settings.state_dir / "gateway.sqlite3")
    try:
        service = SolutionService(directory, store, recipes, settings.composition)
        server, port, health_servicer = build_server(settings.server, service, address)
        await server.start()
        await set_serving(health_servicer, True)
        log.info("gateway listening on port %d", port)
        try:
            yield RunningGateway(server, port, health_servicer, directory, service)
        finally:
            # Tell load balancers first, then let in-flight calls finish within the grace.
            await set_serving(health_servicer, False)
            await server.stop(settings.server.grace_period_s)
    finally:
        await directory.aclose()
        await store.aclose()


async def wait_for_termination() -> None:
    """Returns on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
