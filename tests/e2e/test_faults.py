"""The fault suite: each partner fault the sandbox can inject, the outcome the caller sees,
that the answer comes within the caller's deadline (no DEADLINE_EXCEEDED), and that nothing is
lost. Deterministic: faults are queued exactly (`fail_next`), never drawn at random."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from gateway.client.journeys import compose_request
from gateway.resilience import BreakerState, GuardedAdapter
from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import GatewaySettings, PartnerSettings
from partnergateway.v1 import solution_pb2, solution_service_pb2_grpc
from tests.e2e.booking_support import PLAN
from tests.e2e.cancel_probe import CANCELLED
from tests.e2e.test_compose import component, compose
from tests.support import SandboxControl, Stub, token_channel

OK = solution_pb2.COMPONENT_STATUS_OK


def outcome(c: solution_pb2.Component, partner_id: str) -> str:
    return next(p.outcome for p in c.partners if p.partner_id == partner_id)


def breaker_of(gateway: RunningGateway, partner_id: str) -> GuardedAdapter:
    adapter = gateway.directory.adapters()[partner_id]
    assert isinstance(adapter, GuardedAdapter)
    return adapter


@pytest.fixture
async def own_gateway(
    gateway_settings: GatewaySettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningGateway]:
    """A gateway of its own: no cached tokens, fresh breakers."""
    settings = gateway_settings.model_copy(update={"state_dir": tmp_path_factory.mktemp("own")})
    async with running_gateway(settings, "127.0.0.1:0") as running:
        yield running


async def test_5xx_burst_opens_the_breaker_and_the_partner_is_skipped(
    gateway: RunningGateway, stub: Stub, control: SandboxControl
) -> None:
    await control.set_knobs(
        "airline-a", fail_next=[{"operation": "quote", "status": 503, "count": 1000}]
    )
    for _ in range(5):  # five failed calls in a row: the breaker's verdict
        solution = await compose(stub, compose_request("roaming", PLAN), wait_s=5)
        assert component(solution, "flight").status == OK  # airline-b carries the flight
    assert breaker_of(gateway, "airline-a").breaker.state == BreakerState.OPEN
    calls_before = await control.count("airline-a", "quote")

    solution = await compose(stub, compose_request("roaming", PLAN), wait_s=5)

    flight = component(solution, "flight")
    assert outcome(flight, "airline-a") == "circuit_open"
    assert flight.offer.partner_id == "airline-b"
    assert await control.count("airline-a", "quote") == calls_before  # not even asked


async def test_malformed_json_is_a_protocol_error_not_a_crash(
    stub: Stub, control: SandboxControl
) -> None:
    await control.set_knobs("car-b", fail_next=[{"operation": "quote", "malformed": True}])

    solution = await compose(stub, compose_request("car", PLAN))

    car = component(solution, "car")
    assert car.status == OK
    assert outcome(car, "car-b") == "protocol_error"
    assert await control.count("car-b", "quote") == 1  # a broken answer is not retried


async def test_token_endpoint_down_the_partner_is_unavailable_others_are_not(
    own_gateway: RunningGateway,
    gateway_settings: GatewaySettings,
    control: SandboxControl,
    stub: Stub,
) -> None:
    await control.set_knobs(
        "airline-b", fail_next=[{"operation": "token", "status": 503, "count": 100}]
    )
    async with token_channel(gateway_settings, own_gateway) as channel:
        fresh = solution_service_pb2_grpc.SolutionServiceStub(channel)
        solution = await compose(fresh, compose_request("roaming", PLAN), wait_s=5)

    flight = component(solution, "flight")
    assert outcome(flight, "airline-b") == "unavailable"
    assert flight.offer.partner_id == "airline-a"
    assert await control.count("airline-b", "quote") == 0
    assert all(c.status == OK for c in solution.components)


async def test_token_expired_mid_run_one_refetch_one_retry(
    stub: Stub, control: SandboxControl
) -> None:
    await compose(stub, compose_request("roaming", PLAN))  # tokens cached
    await control.clear_ledgers()
    # The partner now refuses the token it issued (expired, keys rotated).
    await control.set_knobs("insurer-a", fail_next=[{"operation": "quote", "status": 401}])

    solution = await compose(stub, compose_request("roaming", PLAN))

    assert component(solution, "insurance").status == OK
    assert [e["status"] for e in await control.ledger("insurer-a", "quote")] == [401, 200]
    assert await control.count("insurer-a", "token") == 1


async def test_connection_resets_the_partner_is_unavailable(
    gateway_settings: GatewaySettings,
    control: SandboxControl,
    stub: Stub,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        writer.close()  # linger 0: the peer gets a TCP reset

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    partners = [
        p
        if p.id != "car-b"
        else PartnerSettings(**{**p.model_dump(), "base_url": url, "token_url": None})
        for p in gateway_settings.partners
    ]
    settings = gateway_settings.model_copy(
        update={"partners": partners, "state_dir": tmp_path_factory.mktemp("reset")}
    )
    async with (
        server,
        running_gateway(settings, "127.0.0.1:0") as resetting,
        token_channel(settings, resetting) as channel,
    ):
        solution = await compose(
            solution_service_pb2_grpc.SolutionServiceStub(channel),
            compose_request("car", PLAN),
            wait_s=5,
        )

    car = component(solution, "car")
    assert outcome(car, "car-b") == "unavailable"
    assert car.offer.partner_id == "car-a"


async def test_a_cancelled_caller_cancels_its_partner_calls_at_once(
    gateway_settings: GatewaySettings,
    control: SandboxControl,
    stub: Stub,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    partners = [
        p
        if p.id != "airline-a"
        else PartnerSettings(**{**p.model_dump(), "adapter": "tests.e2e.cancel_probe:create"})
        for p in gateway_settings.partners
    ]
    settings = gateway_settings.model_copy(
        update={"partners": partners, "state_dir": tmp_path_factory.mktemp("cancel")}
    )
    await control.set_knobs("airline-a", latency_ms=30_000)
    cancelled = CANCELLED.setdefault("airline-a", asyncio.Event())
    cancelled.clear()
    async with (
        running_gateway(settings, "127.0.0.1:0") as probing,
        token_channel(settings, probing) as channel,
    ):
        call = solution_service_pb2_grpc.SolutionServiceStub(channel).ComposeSolution(
            compose_request("roaming", PLAN), timeout=60
        )
        async with asyncio.timeout(10):
            while await control.count("airline-a", "token") == 0:  # noqa: ASYNC110 - partner state
                await asyncio.sleep(0.02)
        call.cancel()
        async with asyncio.timeout(5):
            await cancelled.wait()  # the gateway gave up the partner call, not 30 s later
    assert call.cancelled()
