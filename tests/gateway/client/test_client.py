"""The client package: importing it loads no CLI framework, and which partner a call acts for is
always explicit — the partner the request names, else the client's."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest

from gateway.client import GatewayClient, NoActingPartner, PartnerTokens
from gateway.runtime import RunningGateway
from gateway.settings import GatewaySettings
from partnergateway.v1 import order_service_pb2, solution_service_pb2
from tests.support import partner_tokens


def test_importing_the_client_loads_no_cli_framework() -> None:
    # A fresh interpreter: this one has long since imported the CLI for other tests.
    probe = (
        "import sys, gateway.client, gateway.client.journeys; "
        "print(sorted({'typer', 'rich', 'click', 'gateway.cli'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.unit
def test_the_request_names_the_partner_else_the_client_does() -> None:
    tokens = PartnerTokens(required=True, secrets={"airline-a": "s", "car-a": "s"})
    names_one = order_service_pb2.GetOrderRequest(order_id="ord_1", partner_id="airline-a")
    names_none = order_service_pb2.GetOrderRequest(order_id="ord_1")

    assert tokens.acting_partner(names_none) is None
    assert tokens.acting_partner(names_one) == "airline-a"
    car = tokens.for_partner("car-a")
    assert car.acting_partner(names_none) == "car-a"
    assert car.acting_partner(names_one) == "airline-a"
    assert tokens.default_partner is None  # a view, not a change of the original


@pytest.mark.unit
async def test_partner_views_share_the_clients_channels() -> None:
    # Channels connect on the first call: none is made here.
    async with GatewayClient("127.0.0.1:1") as plain:
        assert plain.partner is None
        assert plain.for_partner("car-a").partner == "car-a"
        # Without tokens, one channel serves every partner.
        assert plain.for_partner("car-a").channel is plain.channel
    tokens = PartnerTokens(required=True, secrets={"car-a": "s"}, default_partner="airline-a")
    async with GatewayClient("127.0.0.1:1", tokens=tokens) as client:
        # With tokens, a channel per partner (its interceptors know that partner), kept.
        car = client.for_partner("car-a")
        assert car.channel is not client.channel
        assert car.channel is client.for_partner("car-a").channel
        assert client.partner == "airline-a"


async def test_views_share_cached_tokens_and_get_each_partner_its_own(
    gateway: RunningGateway, gateway_settings: GatewaySettings
) -> None:
    tokens = partner_tokens(gateway_settings, gateway)
    first = await tokens.token("airline-a")
    # Another partner's view asks for airline-a's token: the one already fetched (each fetch
    # makes a new token, with its own `jti`).
    assert await tokens.for_partner("car-a").token("airline-a") == first
    assert await tokens.token("car-a") != first


async def test_a_call_that_names_no_partner_needs_a_client_that_does(
    gateway: RunningGateway, gateway_settings: GatewaySettings
) -> None:
    anonymous = PartnerTokens.from_settings(gateway_settings, gateway.issuer_url)
    request = solution_service_pb2.GetSolutionRequest(solution_id="sol_missing")
    async with GatewayClient(gateway.target, tokens=anonymous) as nobody:
        with pytest.raises(NoActingPartner):
            await nobody.solutions.GetSolution(request, timeout=10)
        # Named explicitly, the call goes out with that partner's token and gets the
        # gateway's own answer.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await nobody.for_partner("airline-a").solutions.GetSolution(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
