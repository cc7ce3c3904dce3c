"""Load on the gateway over real gRPC: the sample trip composed again and again."""

from __future__ import annotations

import functools
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc

from bench._closed_loop import Window, WindowRule, closed_loop
from bench._outcomes import Outcome, reason
from bench.processes import ENTRY_PARTNER, ENTRY_SECRET, Gateway, Stubs
from bench.procstat import cpu_seconds, host_busy_seconds, tree_cpu_seconds
from gateway.client import PartnerTokens
from gateway.client.journeys import TripPlan, compose_request
from gateway.settings import AuthSettings
from partnergateway.v1 import solution_pb2, solution_service_pb2, solution_service_pb2_grpc

if TYPE_CHECKING:
    from partnergateway.v1.solution_service_pb2_grpc import SolutionServiceAsyncStub
else:
    SolutionServiceAsyncStub = Any

_OK = solution_pb2.COMPONENT_STATUS_OK
Metadata = tuple[tuple[str, str], ...]
# Each channel its own TCP connection: channels with equal arguments may otherwise share one
# (grpc's global subchannel pool), and SO_REUSEPORT spreads connections, not calls.
_OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)


class GatewayClient:
    """Composes the sample trip, entered at the telecom, with a fresh `request_id` each time
    (as a partner following AIP-155 would), and checks every partner answered. With
    authentication on, every call carries the telecom's access token, fetched once: the
    gateway checks it on each call (part of what is measured), the client does no token work
    per call. Calls take the channels in turn."""

    def __init__(
        self, stubs: list[SolutionServiceAsyncStub], timeout_s: float, metadata: Metadata = ()
    ) -> None:
        self._stubs = itertools.cycle(stubs)
        self._timeout_s = timeout_s
        self._metadata = metadata
        self._template = compose_request("roaming", TripPlan.sample(datetime.now(UTC).date()))

    async def compose(self, timeout_s: float | None = None) -> Outcome:
        """None when all four components are OK and every partner answered `ok`; else why
        not, by gRPC status or by the first component or partner that was not."""
        request = solution_service_pb2.ComposeSolutionRequest()
        request.CopyFrom(self._template)
        request.request_id = uuid.uuid4().hex
        try:
            response = await next(self._stubs).ComposeSolution(
                request, timeout=timeout_s or self._timeout_s, metadata=self._metadata
            )
        except grpc.aio.AioRpcError as exc:
            details = exc.details()
            return reason(f"{exc.code().name}: {details}" if details else exc.code().name)
        return _problem(response.solution)


def _problem(solution: solution_pb2.Solution) -> Outcome:
    components = solution.components
    if len(components) != 4:
        return f"{len(components)} components, not 4"
    for component in components:
        for partner in component.partners:
            if partner.outcome != "ok":
                detail = f" ({partner.detail})" if partner.detail else ""
                return reason(f"partner {partner.partner_id} {partner.outcome}{detail}")
        if component.status != _OK:
            status = solution_pb2.ComponentStatus.Name(component.status)
            return reason(f"component {component.kind} {status}")
    return None


async def entry_token(gateway: Gateway) -> Metadata:
    """The entry partner's bearer token from the gateway's issuer, as call metadata."""
    tokens = PartnerTokens(
        required=True,
        token_url=f"{gateway.issuer_url}/oauth/token",
        secrets={ENTRY_PARTNER: ENTRY_SECRET},
        audience=AuthSettings().audience,
    )
    return (("authorization", f"Bearer {await tokens.token(ENTRY_PARTNER)}"),)


@asynccontextmanager
async def gateway_client(
    gateway: Gateway, timeout_s: float, *, channels: int = 1
) -> AsyncIterator[GatewayClient]:
    """A client over `channels` connections; with the gateway's authentication off, its calls
    carry no token (the request's entry partner is then the caller)."""
    metadata = await entry_token(gateway) if gateway.auth_required else ()
    async with AsyncExitStack() as stack:
        stubs = [
            solution_service_pb2_grpc.SolutionServiceStub(
                await stack.enter_async_context(
                    grpc.aio.insecure_channel(gateway.target, options=_OWN_CONNECTION)
                )
            )
            for _ in range(channels)
        ]
        yield GatewayClient(stubs, timeout_s, metadata)


def gateway_clocks(gateway: Gateway, stubs: Stubs) -> dict[str, Callable[[], float]]:
    """CPU clocks of a row: the gateway (its process and every worker process it started),
    each worker on its own, the stubs, this load generator and the whole machine."""
    clocks: dict[str, Callable[[], float]] = {
        "gateway": lambda: tree_cpu_seconds(gateway.pid),
        "stubs": lambda: cpu_seconds(stubs.pid),
        "client": time.process_time,
        "host": host_busy_seconds,
    }
    for pid in gateway.worker_pids:
        clocks[f"worker {pid}"] = functools.partial(cpu_seconds, pid)
    return clocks


async def throughput(
    client: GatewayClient,
    gateway: Gateway,
    stubs: Stubs,
    *,
    concurrency: int,
    rule: WindowRule,
) -> Window:
    """One closed-loop window with the CPU of the gateway, the stubs and this load
    generator."""
    return await closed_loop(
        client.compose,
        concurrency=concurrency,
        rule=rule,
        cpu_clocks=gateway_clocks(gateway, stubs),
    )
