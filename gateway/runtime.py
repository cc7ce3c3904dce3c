"""Wiring the gateway from settings and running it: start, serve, drain, close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
from grpc_health.v1._async import HealthServicer

from adapters import PartnerAdapter
from bundles import load_recipes
from gateway.audit import AuditSealer
from gateway.auth import auth_runtime, load_signing_key
from gateway.booking import (
    BookingStore,
    OrderNotifier,
    OrderService,
    SagaRunner,
    StepHook,
    recovery_loop,
)
from gateway.composition.service import SolutionService
from gateway.feedback import FeedbackService
from gateway.partners import PartnerDirectory
from gateway.privacy.service import ConsentService
from gateway.ratelimit import RateLimiter
from gateway.resilience import (
    BreakerState,
    Bulkhead,
    CircuitBreaker,
    GuardedAdapter,
)
from gateway.server import build_server, set_serving
from gateway.settings import (
    BookingSettings,
    GatewaySettings,
    RateLimitSettings,
    ResilienceSettings,
)
from gateway.storage import open_store
from gateway.telemetry import Telemetry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningGateway:
    server: grpc.aio.Server
    port: int
    health: HealthServicer
    directory: PartnerDirectory
    service: SolutionService
    orders: OrderService
    store: BookingStore
    issuer_url: str | None = None
    """The embedded token issuer's identifier, when it runs (`auth.issuer.enabled`)."""

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def guard_factory(settings: ResilienceSettings) -> Callable[[PartnerAdapter], PartnerAdapter]:
    """Wraps each partner's adapter in its own circuit breaker and bulkhead."""
    breaker = settings.breaker.policy()
    bulkhead = settings.bulkhead.policy()

    def guard(adapter: PartnerAdapter) -> PartnerAdapter:
        return GuardedAdapter(adapter, CircuitBreaker(breaker), Bulkhead(bulkhead))

    return guard


_CIRCUIT_VALUE = {BreakerState.CLOSED: 0.0, BreakerState.HALF_OPEN: 1.0, BreakerState.OPEN: 2.0}


def partner_stats(directory: PartnerDirectory) -> list[tuple[str, float, float, float]]:
    """Per partner, for the observable metrics: token fetches, retries, circuit state."""
    rows = []
    for partner_id, adapter in sorted(directory.adapters().items()):
        circuit = 0.0
        if isinstance(adapter, GuardedAdapter):
            circuit = _CIRCUIT_VALUE[adapter.breaker.state]
            adapter = adapter.inner
        fetches = float(getattr(adapter, "token_fetches", 0))
        retries = float(getattr(adapter, "retries", 0))
        rows.append((partner_id, fetches, retries, circuit))
    return rows


def rate_limiter(limits: RateLimitSettings, partner_ids: list[str]) -> RateLimiter | None:
    """A bucket per registered partner, or None when limiting is off (`requests_per_s: 0`)."""
    if limits.requests_per_s <= 0:
        return None
    return RateLimiter(limits.requests_per_s, limits.burst, partner_ids)


def _replica_id(booking: BookingSettings) -> str:
    return booking.replica_id or f"{socket.gethostname()}:{os.getpid()}"


@asynccontextmanager
async def running_gateway(
    settings: GatewaySettings,
    address: str | None = None,
    *,
    reuse_port: bool = False,
    telemetry: Telemetry | None = None,
    step_hook: StepHook | None = None,
) -> AsyncIterator[RunningGateway]:
    """A started gateway; on exit it stops taking calls, drains, and closes its resources.

    On start it resumes every booking saga left unfinished (by this or a dead replica).
    `reuse_port` shares the port with sibling worker processes (SO_REUSEPORT).
    `step_hook` sees every point the booking sagas pass: a seam for the crash-safety tests
    (`tests/crashing_gateway.py`), which no command sets.
    """
    recipes = load_recipes(settings.composition.recipe_dirs)
    directory = PartnerDirectory.from_configs(
        settings.partner_configs(),
        {p.id: p.adapter for p in settings.partners},
        guard=guard_factory(settings.resilience),
    )
    store = await open_store(
        settings.state_dir,
        settings.storage.dsn,
        schema=settings.storage.pg_schema,
        cipher=settings.storage.data_cipher(settings.state_dir),
        bounds=settings.storage.transaction_bounds(),
    )
    sealer = AuditSealer(
        store,
        load_signing_key(settings.audit_key_file()),
        seal_interval_s=settings.audit.seal_interval_s,
        checkpoint_interval_s=settings.audit.checkpoint_interval_s,
        checkpoint_file=settings.audit.checkpoint_file,
    )
    booking = settings.booking
    notifier = OrderNotifier()
    runner = SagaRunner(
        store,
        directory,
        recipes,
        _replica_id(booking),
        notifier,
        booking.saga_policy(),
        step_hook,
        telemetry,
    )
    if telemetry is not None:
        telemetry.metrics.watch_partners(lambda: partner_stats(directory))
    orders = OrderService(store, runner, notifier, directory.kinds)
    recovery: asyncio.Task[None] | None = None
    auth_stack = contextlib.AsyncExitStack()
    sealing = asyncio.create_task(sealer.run())
    try:
        # The token issuer (if enabled) serves before the gateway and stops after it.
        auth = await auth_stack.enter_async_context(
            auth_runtime(settings.auth, [p.id for p in settings.partners], reuse_port=reuse_port)
        )
        service = SolutionService(directory, store, recipes, settings.composition, telemetry)
        server, port, health_servicer = build_server(
            settings.server,
            service,
            orders,
            address,
            reuse_port=reuse_port,
            telemetry=telemetry,
            feedback=FeedbackService(store, telemetry),
            consents=ConsentService(store),
            rate_limiter=rate_limiter(settings.rate_limits, [p.id for p in settings.partners]),
            auth=auth.interceptor,
        )
        await server.start()
        recovery = asyncio.create_task(
            recovery_loop(store, orders.start_saga, booking.recovery_interval_s)
        )
        await set_serving(health_servicer, True)
        log.info("gateway listening on port %d", port)
        try:
            yield RunningGateway(
                server, port, health_servicer, directory, service, orders, store, auth.issuer_url
            )
        finally:
            # Tell load balancers first, then let in-flight calls finish within the grace.
            await set_serving(health_servicer, False)
            await server.stop(settings.server.grace_period_s)
    finally:
        if recovery is not None:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery
        await auth_stack.aclose()
        await orders.aclose()
        await directory.aclose()
        sealing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sealing
        # What this replica wrote is chained and its head signed before it goes (if that
        # fails, the next replica's sealer does it).
        try:
            await sealer.flush()
        except Exception as exc:  # closing must go on
            log.warning("audit: final sealing failed: %s", exc)
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
