"""The server as operators and tools see it: health, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.runtime import RunningGateway

SERVICE = "partnergateway.v1.SolutionService"


async def test_health_reports_serving(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", SERVICE):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_solution_service(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    async for answer in stub.ServerReflectionInfo(requests(), timeout=5):
        names = {s.name for s in answer.list_services_response.service}
        assert SERVICE in names
        break


async def test_gateway_stops_gracefully_on_sigterm(gateway: RunningGateway, tmp_path: Path) -> None:
    env = {**os.environ, "PSG_STATE_DIR": str(tmp_path), "PSG_SERVER__ADDRESS": "127.0.0.1:0"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--sandbox",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    port = None
    async with asyncio.timeout(30):
        while port is None:
            line = (await process.stderr.readline()).decode()
            assert line, "gateway exited before serving"
            if "gateway serving on port" in line:
                port = int(line.split("port")[1].split()[0])
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE), timeout=5
        )
        assert answer.status == health_pb2.HealthCheckResponse.SERVING

    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        rest = (await process.stderr.read()).decode()
        code = await process.wait()
    assert code == 0, rest
    assert "gateway stopped" in rest
