"""TLS and mutual TLS on the gRPC listener, with a throwaway CA: who gets through, who not."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway import healthprobe
from gateway.client.channels import ClientTls, open_channel
from gateway.client.journeys import TripPlan, compose_request
from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import GatewaySettings, TlsSettings
from partnergateway.v1 import solution_service_pb2_grpc
from tests.certs import Pki, make_pki
from tests.support import Stub, token_channel, write_client_config

PLAN = TripPlan.sample(datetime.now(UTC).date())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


async def _gateway_with(
    settings: GatewaySettings, tls: TlsSettings, state: Path
) -> AsyncIterator[RunningGateway]:
    server = settings.server.model_copy(update={"tls": tls})
    own = settings.model_copy(update={"server": server, "state_dir": state})
    async with running_gateway(own, "127.0.0.1:0") as running:
        yield running


@pytest.fixture(scope="module")
async def tls_gateway(
    gateway_settings: GatewaySettings, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningGateway]:
    tls = TlsSettings(cert_file=pki.server.cert_file, key_file=pki.server.key_file)
    async for running in _gateway_with(gateway_settings, tls, tmp_path_factory.mktemp("tls")):
        yield running


@pytest.fixture(scope="module")
async def mtls_gateway(
    gateway_settings: GatewaySettings, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningGateway]:
    tls = TlsSettings(
        cert_file=pki.server.cert_file,
        key_file=pki.server.key_file,
        client_ca_file=pki.ca_file,
    )
    async for running in _gateway_with(gateway_settings, tls, tmp_path_factory.mktemp("mtls")):
        yield running


async def health(channel: grpc.aio.Channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
    status: int = response.status
    return status


async def refused(channel: grpc.aio.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health(channel)
    return caught.value.code()


async def test_tls_call_with_the_ca_composes(
    tls_gateway: RunningGateway, gateway_settings: GatewaySettings, pki: Pki, stub: Stub
) -> None:
    tls = ClientTls(ca_file=pki.ca_file)
    async with token_channel(gateway_settings, tls_gateway, tls) as channel:
        assert await health(channel) == health_pb2.HealthCheckResponse.SERVING
        solutions = solution_service_pb2_grpc.SolutionServiceStub(channel)
        response = await solutions.ComposeSolution(compose_request("roaming", PLAN), timeout=10)

    assert response.solution.solution_id


async def test_tls_without_the_ca_is_refused(tls_gateway: RunningGateway, pki: Pki) -> None:
    # The system's roots, or another CA, do not vouch for the throwaway server certificate.
    async with open_channel(tls_gateway.target, ClientTls()) as channel:
        assert await refused(channel) == grpc.StatusCode.UNAVAILABLE
    async with open_channel(tls_gateway.target, ClientTls(ca_file=pki.stranger_ca_file)) as ch:
        assert await refused(ch) == grpc.StatusCode.UNAVAILABLE


async def test_plaintext_to_a_tls_listener_is_refused(tls_gateway: RunningGateway) -> None:
    async with grpc.aio.insecure_channel(tls_gateway.target) as channel:
        assert await refused(channel) == grpc.StatusCode.UNAVAILABLE


async def test_mtls_client_with_a_certificate_of_the_ca_gets_through(
    mtls_gateway: RunningGateway, pki: Pki
) -> None:
    tls = ClientTls(pki.ca_file, pki.client.cert_file, pki.client.key_file)
    async with open_channel(mtls_gateway.target, tls) as channel:
        assert await health(channel) == health_pb2.HealthCheckResponse.SERVING


async def test_mtls_client_without_a_certificate_is_refused(
    mtls_gateway: RunningGateway, pki: Pki
) -> None:
    async with open_channel(mtls_gateway.target, ClientTls(ca_file=pki.ca_file)) as channel:
        assert await refused(channel) == grpc.StatusCode.UNAVAILABLE


async def test_mtls_client_certificate_of_another_ca_is_refused(
    mtls_gateway: RunningGateway, pki: Pki
) -> None:
    stranger = pki.stranger_client
    tls = ClientTls(pki.ca_file, stranger.cert_file, stranger.key_file)
    async with open_channel(mtls_gateway.target, tls) as channel:
        assert await refused(channel) == grpc.StatusCode.UNAVAILABLE


async def test_cli_composes_over_mutual_tls(
    mtls_gateway: RunningGateway, gateway_settings: GatewaySettings, pki: Pki, tmp_path: Path
) -> None:
    config = write_client_config(gateway_settings, mtls_gateway, tmp_path / "cli.yaml")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "compose",
        "--entry",
        "flight",
        "--destination",
        "JP",
        "--depart",
        PLAN.depart.isoformat(),
        "--return",
        PLAN.back.isoformat(),
        "--target",
        mtls_gateway.target,
        "--json",
        "--tls-ca",
        str(pki.ca_file),
        "--tls-cert",
        str(pki.client.cert_file),
        "--tls-key",
        str(pki.client.key_file),
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, stderr.decode()
    assert json.loads(stdout)["entry"] == "flight"


async def _probe(*argv: str) -> int:
    # In a thread: the gateway under test serves on this event loop.
    return await asyncio.to_thread(healthprobe.main, list(argv), {})


async def test_health_probe_speaks_mutual_tls(mtls_gateway: RunningGateway, pki: Pki) -> None:
    target = mtls_gateway.target
    ca = ("--tls-ca", str(pki.ca_file))
    client = ("--tls-cert", str(pki.client.cert_file), "--tls-key", str(pki.client.key_file))

    assert await _probe("--address", target, *ca, *client) == 0
    assert await _probe("--address", target, *ca, *client, "--tls-server-name", "localhost") == 0
    # The name to expect is really checked: one the certificate does not carry fails.
    assert await _probe("--address", target, *ca, *client, "--tls-server-name", "x.invalid") == 1
    assert await _probe("--address", target, "--timeout", "1") == 1  # plaintext
    assert await _probe("--address", target, *ca) == 1  # no client certificate


def test_tls_settings_need_existing_files(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        TlsSettings(cert_file=tmp_path / "missing.crt", key_file=tmp_path / "missing.key")
