"""Load on the gateway over real gRPC: the sample trip composed again and again."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc

from bench._closed_loop import Window, closed_loop
from bench.processes import ENTRY_PARTNER, ENTRY_SECRET, Gateway, Stubs
from bench.procstat import cpu_seconds
from gateway.cli.credentials import PartnerTokens
from gateway.cli.journey import TripPlan, compose_request
from gateway.settings import AuthSettings
from partnergateway.v1 import solution_pb2, solution_service_pb2, solution_service_pb2_grpc

if TYPE_CHECKING:
    from partnergateway.v1.solution_service_pb2_grpc import SolutionServiceAsyncStub
else:
    SolutionServiceAsyncStub = Any

_OK = solution_pb2.COMPONENT_STATUS_OK
Metadata = tuple[tuple[str, str], ...]


class GatewayClient:
    """Composes the sample trip, entered at the telecom, with a fresh `request_id` each time
    (as a partner following AIP-155 would), and checks every partner answered. Every call
    carries the telecom's access token, fetched once: the gateway checks it on each call
    (part of what is measured), the client does no token work per call."""

    def __init__(
        self, stub: SolutionServiceAsyncStub, timeout_s: float, metadata: Metadata = ()
    ) -> None:
        self._stub = stub
        self._timeout_s = timeout_s
        self._metadata = metadata
        self._template = compose_request("roaming", TripPlan.sample(datetime.now(UTC).date()))

    async def compose(self, timeout_s: float | None = None) -> bool:
        request = solution_service_pb2.ComposeSolutionRequest()
        request.CopyFrom(self._template)
        request.request_id = uuid.uuid4().hex
        response = await self._stub.ComposeSolution(
            request, timeout=timeout_s or self._timeout_s, metadata=self._metadata
        )
        components = response.solution.components
        return len(components) == 4 and all(
            c.status == _OK and all(p.outcome == "ok" for p in c.partners) for c in components
        )


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
async def gateway_client(gateway: Gateway, timeout_s: float) -> AsyncIterator[GatewayClient]:
    metadata = await entry_token(gateway)
    async with grpc.aio.insecure_channel(gateway.target) as channel:
        stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
        yield GatewayClient(stub, timeout_s, metadata)


async def throughput(
    client: GatewayClient,
    gateway: Gateway,
    stubs: Stubs,
    *,
    concurrency: int,
    warmup_s: float,
    measure_s: float,
) -> Window:
    """One closed-loop window; CPU of the gateway, the stubs and this load generator."""
    return await closed_loop(
        client.compose,
        concurrency=concurrency,
        warmup_s=warmup_s,
        measure_s=measure_s,
        cpu_clocks={
            "gateway": lambda: cpu_seconds(gateway.pid),
            "stubs": lambda: cpu_seconds(stubs.pid),
            "client": time.process_time,
        },
    )
