"""`python -m gateway.healthprobe`, the image's health check, against a real gateway."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest
from grpc_health.v1 import health_pb2

from gateway import healthprobe
from gateway.runtime import RunningGateway


async def _probe(*argv: str) -> int:
    # In a thread: the gateway under test serves on this event loop.
    return await asyncio.to_thread(healthprobe.main, list(argv), {})


async def test_serving_gateway_exits_0(gateway: RunningGateway) -> None:
    assert await _probe("--address", gateway.target) == 0


async def test_as_a_module_it_exits_0_and_says_serving(gateway: RunningGateway) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.healthprobe",
        "--address",
        gateway.target,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)

    assert process.returncode == 0
    assert stdout.decode().strip() == f"{gateway.target}: SERVING"


async def test_not_serving_service_exits_1(
    gateway: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    service = "probe.test.DrainingService"
    await gateway.health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)

    assert await _probe("--address", gateway.target, "--service", service) == 1
    assert "NOT_SERVING" in capsys.readouterr().out


async def test_unknown_service_exits_1(
    gateway: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _probe("--address", gateway.target, "--service", "no.such.Service") == 1
    assert "NOT_FOUND" in capsys.readouterr().err


async def test_nobody_listening_exits_1() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"

    assert await _probe("--address", closed, "--timeout", "1") == 1


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        (None, "127.0.0.1:50051"),
        ("0.0.0.0:6000", "127.0.0.1:6000"),
        ("[::]:6000", "127.0.0.1:6000"),
        ("10.1.2.3:6000", "10.1.2.3:6000"),
    ],
)
def test_default_address_follows_the_server_setting(configured: str | None, expected: str) -> None:
    environ = {} if configured is None else {"PSG_SERVER__ADDRESS": configured}
    assert healthprobe.default_address(environ) == expected
