"""Authenticated callers end to end: real gRPC to a gateway with `auth.required` (the
session's, as by default), tokens from its embedded issuer over real HTTP, real sandbox
partners."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import httpx2
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from joserfc.jwk import ECKey

from gateway.auth import RPC_SCOPES, is_exempt
from gateway.client.credentials import PartnerTokens
from gateway.client.journeys import TripPlan, book_request, compose_request
from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import GatewaySettings
from partnergateway.v1 import (
    consent_service_pb2,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_service_pb2,
    solution_service_pb2_grpc,
)
from tests.auth.conftest import client_assertion, token_for, token_url
from tests.auth.support import bearer, code_and_reason
from tests.support import KEY_CLIENT, STRANGER, SandboxControl

TODAY = datetime.now(UTC).date()
pytestmark = pytest.mark.usefixtures("quiet_partners")


def solutions(channel: grpc.aio.Channel) -> Any:
    return solution_service_pb2_grpc.SolutionServiceStub(channel)


def orders(channel: grpc.aio.Channel) -> Any:
    return order_service_pb2_grpc.OrderServiceStub(channel)


async def refusal(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return code_and_reason(caught.value)


async def no_partner_was_called(control: SandboxControl, since: str) -> None:
    for partner_id in control.base_urls:
        assert await control.ledger(partner_id, since=since) == [], partner_id


async def test_a_call_without_a_token_is_unauthenticated_and_reaches_no_partner(
    auth_channel: grpc.aio.Channel, quiet_partners: SandboxControl
) -> None:
    since = quiet_partners.now()
    request = compose_request("roaming", TripPlan.sample(TODAY))

    assert await refusal(solutions(auth_channel).ComposeSolution(request, timeout=10)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_MISSING",
    )
    stream = solutions(auth_channel).StreamSolution(
        solution_service_pb2.StreamSolutionRequest.FromString(request.SerializeToString()),
        timeout=10,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stream:
            pass
    assert code_and_reason(caught.value) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
    await no_partner_was_called(quiet_partners, since)


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("Bearer not-a-jwt", "TOKEN_INVALID"),
        ("Basic dGVsZWNvbS1jbjpzZWNyZXQ=", "TOKEN_INVALID"),
        ("Bearer ", "TOKEN_INVALID"),
    ],
)
async def test_a_malformed_authorization_is_unauthenticated(
    auth_channel: grpc.aio.Channel, authorization: str, reason: str
) -> None:
    request = compose_request("roaming", TripPlan.sample(TODAY))
    call = solutions(auth_channel).ComposeSolution(
        request, timeout=10, metadata=(("authorization", authorization),)
    )
    assert await refusal(call) == (grpc.StatusCode.UNAUTHENTICATED, reason)


async def test_a_valid_token_composes_and_the_caller_is_the_entry_partner(
    auth_channel: grpc.aio.Channel, auth_gateway: RunningGateway, http: httpx2.AsyncClient
) -> None:
    token = await token_for(http, auth_gateway, "telecom-cn")
    request = compose_request("roaming", TripPlan.sample(TODAY))
    request.entry.partner_id = ""  # the token says who is calling

    response = await solutions(auth_channel).ComposeSolution(
        request, timeout=10, metadata=bearer(token)
    )

    assert response.solution.entry.partner_id == "telecom-cn"
    assert len(response.solution.components) == 4


async def test_a_token_without_the_rpcs_scope_is_permission_denied(
    auth_channel: grpc.aio.Channel,
    auth_gateway: RunningGateway,
    http: httpx2.AsyncClient,
    quiet_partners: SandboxControl,
) -> None:
    since = quiet_partners.now()
    token = await token_for(http, auth_gateway, "telecom-cn", scope="orders:read")
    request = compose_request("roaming", TripPlan.sample(TODAY))

    call = solutions(auth_channel).ComposeSolution(request, timeout=10, metadata=bearer(token))

    assert await refusal(call) == (grpc.StatusCode.PERMISSION_DENIED, "SCOPE_MISSING")
    await no_partner_was_called(quiet_partners, since)
    # The same token does what its scope allows.
    listed = await orders(auth_channel).ListOrders(
        order_service_pb2.ListOrdersRequest(), timeout=10, metadata=bearer(token)
    )
    assert listed is not None


async def test_a_client_that_is_no_registered_partner_is_permission_denied(
    auth_channel: grpc.aio.Channel,
    auth_gateway: RunningGateway,
    http: httpx2.AsyncClient,
    quiet_partners: SandboxControl,
) -> None:
    since = quiet_partners.now()
    token = await token_for(http, auth_gateway, STRANGER)
    request = compose_request("roaming", TripPlan.sample(TODAY))
    request.entry.partner_id = ""

    call = solutions(auth_channel).ComposeSolution(request, timeout=10, metadata=bearer(token))

    assert await refusal(call) == (grpc.StatusCode.PERMISSION_DENIED, "PARTNER_UNKNOWN")
    await no_partner_was_called(quiet_partners, since)


async def test_a_partner_cannot_act_as_another(
    auth_channel: grpc.aio.Channel,
    auth_gateway: RunningGateway,
    http: httpx2.AsyncClient,
    quiet_partners: SandboxControl,
) -> None:
    since = quiet_partners.now()
    token = await token_for(http, auth_gateway, "telecom-cn")
    as_airline = compose_request("flight", TripPlan.sample(TODAY), partner_id="airline-a")

    call = solutions(auth_channel).ComposeSolution(as_airline, timeout=10, metadata=bearer(token))
    assert await refusal(call) == (grpc.StatusCode.PERMISSION_DENIED, "PARTNER_MISMATCH")
    await no_partner_was_called(quiet_partners, since)

    for call in (
        orders(auth_channel).ListOrders(
            order_service_pb2.ListOrdersRequest(partner_id="airline-a"),
            timeout=10,
            metadata=bearer(token),
        ),
        orders(auth_channel).GetOrder(
            order_service_pb2.GetOrderRequest(order_id="ord_x", partner_id="airline-a"),
            timeout=10,
            metadata=bearer(token),
        ),
        feedback_service_pb2_grpc.FeedbackServiceStub(auth_channel).GetKpiReport(
            feedback_service_pb2.GetKpiReportRequest(partner_id="airline-a"),
            timeout=10,
            metadata=bearer(token),
        ),
    ):
        assert await refusal(call) == (grpc.StatusCode.PERMISSION_DENIED, "PARTNER_MISMATCH")


async def test_a_private_key_jwt_client_gets_a_working_token(
    auth_channel: grpc.aio.Channel,
    auth_gateway: RunningGateway,
    http: httpx2.AsyncClient,
    client_key: ECKey,
) -> None:
    assertion = client_assertion(client_key, KEY_CLIENT, token_url(auth_gateway))
    response = await http.post(
        token_url(auth_gateway),
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]

    request = compose_request("insurance", TripPlan.sample(TODAY))
    composed = await solutions(auth_channel).ComposeSolution(
        request, timeout=10, metadata=bearer(token)
    )
    assert composed.solution.entry.partner_id == KEY_CLIENT


async def test_book_and_read_an_order_with_tokens(
    auth_channel: grpc.aio.Channel, auth_gateway: RunningGateway, http: httpx2.AsyncClient
) -> None:
    token = await token_for(http, auth_gateway, "airline-a")
    composed = await solutions(auth_channel).ComposeSolution(
        compose_request("flight", TripPlan.sample(TODAY)), timeout=10, metadata=bearer(token)
    )
    solution_id = composed.solution.solution_id
    booked = await orders(auth_channel).BookSolution(
        book_request(solution_id, TripPlan.sample(TODAY), "auth-book-1"),
        timeout=30,
        metadata=bearer(token),
    )
    assert booked.order.partner_id == "airline-a"

    got = await orders(auth_channel).GetOrder(
        order_service_pb2.GetOrderRequest(order_id=booked.order.order_id),
        timeout=10,
        metadata=bearer(token),
    )
    assert got.order.order_id == booked.order.order_id

    # Another partner's token finds no such order: it acts as itself, and owns none.
    other = await token_for(http, auth_gateway, "car-a")
    call = orders(auth_channel).GetOrder(
        order_service_pb2.GetOrderRequest(order_id=booked.order.order_id),
        timeout=10,
        metadata=bearer(other),
    )
    assert (await refusal(call))[0] == grpc.StatusCode.NOT_FOUND


async def test_the_gateway_reads_its_own_issuers_keys_locally_not_through_its_url(
    gateway_settings: GatewaySettings, tmp_path: Path
) -> None:
    # Behind a load balancer the issuer URL names the balancer (docker/compose.yaml); the
    # gateway must not depend on reaching itself through it. Here the URL leads nowhere.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    issuer = gateway_settings.auth.issuer.model_copy(
        update={"address": f"127.0.0.1:{port}", "url": "https://tokens.example.invalid"}
    )
    auth = gateway_settings.auth.model_copy(update={"issuer": issuer})
    settings = gateway_settings.model_copy(update={"auth": auth, "state_dir": tmp_path})
    async with (
        running_gateway(settings, "127.0.0.1:0") as gateway,
        grpc.aio.insecure_channel(gateway.target) as channel,
    ):
        assert gateway.issuer_url == "https://tokens.example.invalid"
        tokens = PartnerTokens.from_settings(settings, f"http://127.0.0.1:{port}")
        token = await tokens.token("car-a")
        composed = await solutions(channel).ComposeSolution(
            compose_request("car", TripPlan.sample(TODAY)), timeout=10, metadata=bearer(token)
        )
    assert composed.solution.entry.partner_id == "car-a"


async def test_health_and_reflection_need_no_token(auth_channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(auth_channel)
    answer = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING

    async def ask() -> Any:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    stub = reflection_pb2_grpc.ServerReflectionStub(auth_channel)
    async for reply in stub.ServerReflectionInfo(ask(), timeout=5):
        assert reply.list_services_response.service
        break


def test_every_rpc_of_the_contract_has_a_scope() -> None:
    methods = {
        f"/{service.full_name}/{method.name}"
        for module in (
            solution_service_pb2,
            order_service_pb2,
            feedback_service_pb2,
            consent_service_pb2,
        )
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert methods == set(RPC_SCOPES)
    assert not any(is_exempt(m) for m in methods)
    assert is_exempt("/grpc.health.v1.Health/Check")
