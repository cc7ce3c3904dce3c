"""Per-partner rate limits end to end: over its limit a partner gets RESOURCE_EXHAUSTED with a
RetryInfo before anything is done for it; other partners, health and reflection go on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.client.journeys import TripPlan, compose_request
from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import GatewaySettings, RateLimitSettings
from partnergateway.v1 import (
    order_service_pb2,
    order_service_pb2_grpc,
    solution_service_pb2,
    solution_service_pb2_grpc,
)
from tests.support import SandboxControl, Stub, error_info, rich_status, token_channel

PLAN = TripPlan.sample(datetime.now(UTC).date())
BURST = 2
RATE = 0.1  # one token every ten seconds: no refill within a test


@pytest.fixture
async def limited(
    gateway_settings: GatewaySettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningGateway]:
    """A gateway of its own whose partners may each make two calls, then one per 10 s."""
    settings = gateway_settings.model_copy(
        update={
            "state_dir": tmp_path_factory.mktemp("limited"),
            "rate_limits": RateLimitSettings(requests_per_s=RATE, burst=BURST),
        }
    )
    async with running_gateway(settings, "127.0.0.1:0") as running:
        yield running


@pytest.fixture
async def limited_channel(
    limited: RunningGateway, gateway_settings: GatewaySettings
) -> AsyncIterator[grpc.aio.Channel]:
    async with token_channel(gateway_settings, limited) as channel:
        yield channel


def retry_delay_s(error: grpc.aio.AioRpcError) -> float:
    for detail in rich_status(error).details:
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(retry):
            return float(retry.retry_delay.ToMilliseconds()) / 1000
    raise AssertionError("no RetryInfo in status")


async def test_the_call_over_the_limit_is_refused_with_retry_info_and_asks_no_partner(
    limited_channel: grpc.aio.Channel, stub: Stub, control: SandboxControl
) -> None:
    solutions = solution_service_pb2_grpc.SolutionServiceStub(limited_channel)
    request = compose_request("roaming", PLAN)
    for _ in range(BURST):
        await solutions.ComposeSolution(request, timeout=10)
    await control.clear_ledgers()

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await solutions.ComposeSolution(compose_request("roaming", PLAN), timeout=10)

    error = caught.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    info = error_info(rich_status(error))
    assert info.reason == "RATE_LIMITED"
    assert info.domain == "partnergateway.v1"
    assert info.metadata["caller"] == "telecom-cn"
    assert 0 < retry_delay_s(error) <= 1 / RATE
    for partner_id in control.base_urls:
        assert await control.ledger(partner_id) == [], partner_id


async def test_each_partner_has_its_own_bucket(
    limited_channel: grpc.aio.Channel, stub: Stub
) -> None:
    orders = order_service_pb2_grpc.OrderServiceStub(limited_channel)

    async def list_as(partner_id: str) -> grpc.StatusCode:
        try:
            await orders.ListOrders(
                order_service_pb2.ListOrdersRequest(partner_id=partner_id), timeout=5
            )
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        return grpc.StatusCode.OK

    assert [await list_as("airline-a") for _ in range(BURST + 1)] == [
        *[grpc.StatusCode.OK] * BURST,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ]
    assert await list_as("airline-b") == grpc.StatusCode.OK


async def test_streams_are_limited_too(limited_channel: grpc.aio.Channel, stub: Stub) -> None:
    solutions = solution_service_pb2_grpc.SolutionServiceStub(limited_channel)
    # The same fields as a composition's: car-a is the entry partner.
    request = solution_service_pb2.StreamSolutionRequest.FromString(
        compose_request("car", PLAN).SerializeToString()
    )

    codes = []
    for _ in range(BURST + 1):
        try:
            async for _update in solutions.StreamSolution(request, timeout=10):
                pass
            codes.append(grpc.StatusCode.OK)
        except grpc.aio.AioRpcError as exc:
            codes.append(exc.code())

    assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert codes[:-1] == [grpc.StatusCode.OK] * BURST


async def test_health_and_reflection_are_never_limited(
    limited_channel: grpc.aio.Channel,
) -> None:
    health = health_pb2_grpc.HealthStub(limited_channel)
    for _ in range(BURST * 5):
        response = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(limited_channel)
    for _ in range(BURST * 5):
        requests = iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        async for answer in reflection.ServerReflectionInfo(requests, timeout=5):
            assert answer.list_services_response.service
