"""The server as operators and tools see it: health, reflection, graceful shutdown; and how
`serve` starts with authentication: with --sandbox at once, without a way to get tokens not
at all, with authentication off only with a warning."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.client.channels import open_channel
from gateway.client.journeys import TripPlan, compose_request
from gateway.runtime import RunningGateway
from partnergateway.v1 import solution_pb2, solution_service_pb2_grpc
from tests.support import sandbox_tokens

SERVICE = "partnergateway.v1.SolutionService"
PLAN = TripPlan.sample(datetime.now(UTC).date())


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


def _environment(tmp_path: Path) -> dict[str, str]:
    """This process's environment but for the gateway's settings: any free ports."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PSG_")},
        "PSG_STATE_DIR": str(tmp_path),
        "PSG_SERVER__ADDRESS": "127.0.0.1:0",
        "PSG_AUTH__ISSUER__ADDRESS": "127.0.0.1:0",
    }


async def test_gateway_stops_gracefully_on_sigterm(gateway: RunningGateway, tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--sandbox",
        env=_environment(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    port = issuer = None
    async with asyncio.timeout(30):
        while port is None:
            line = (await process.stderr.readline()).decode()
            assert line, "gateway exited before serving"
            if line.startswith("token issuer at "):
                issuer = line.split()[3]
            if "gateway serving on port" in line:
                port = int(line.split("port")[1].split()[0])
    assert issuer is not None, "serve names its token issuer"
    # With no set-up, the sandbox partners are the issuer's clients, with well-known secrets,
    # so the command line gets tokens; and they are the gateway's partners (none by default).
    tokens = sandbox_tokens(issuer)
    async with open_channel(f"127.0.0.1:{port}", tokens=tokens) as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE), timeout=5
        )
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        solutions = solution_service_pb2_grpc.SolutionServiceStub(channel)
        composed = await solutions.ComposeSolution(compose_request("flight", PLAN), timeout=10)
        assert composed.solution.entry.partner_id == "airline-a"
        assert all(
            c.status in (solution_pb2.COMPONENT_STATUS_OK, solution_pb2.COMPONENT_STATUS_HELD)
            for c in composed.solution.components
        )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as anonymous:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await solution_service_pb2_grpc.SolutionServiceStub(anonymous).ComposeSolution(
                compose_request("flight", PLAN), timeout=10
            )
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        rest = (await process.stderr.read()).decode()
        code = await process.wait()
    assert code == 0, rest
    assert "gateway stopped" in rest


async def _serve_until_it_exits(env: dict[str, str]) -> tuple[int | None, str]:
    """`serve` with `env` (wide enough that messages do not wrap): exit code and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "serve",
        env={**env, "COLUMNS": "400"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        _, err = await process.communicate()
    return process.returncode, err.decode()


async def test_serve_without_a_way_to_get_tokens_refuses_to_start(tmp_path: Path) -> None:
    # No --sandbox, no auth.issuer.clients, no auth.trusted_issuers: nobody could call.
    returncode, message = await _serve_until_it_exits({**_environment(tmp_path)})
    assert returncode == 2, message
    assert "Not starting" in message
    for what in ("auth.issuer.clients", "auth.trusted_issuers", "--sandbox"):
        assert what in message
    assert "Traceback" not in message


async def test_serve_without_partners_refuses_to_start(tmp_path: Path) -> None:
    # Tokens are not the problem here (authentication off): no partner is configured, as by
    # default, so the gateway could compose nothing.
    env = {**_environment(tmp_path), "PSG_AUTH__REQUIRED": "false"}
    returncode, message = await _serve_until_it_exits(env)
    assert returncode == 2, message
    assert "Not starting: no partners are configured" in message
    for what in ("`partners`", "--config", "serve --sandbox"):
        assert what in message
    assert "auth.issuer.clients" not in message  # one problem, said once
    assert "Traceback" not in message


async def test_serve_with_authentication_off_warns_loudly(tmp_path: Path) -> None:
    # One configured partner (never asked here): without any, `serve` would not start.
    partner = {
        "id": "airline-x",
        "kind": "airline",
        "name": "X-Air",
        "base_url": "http://127.0.0.1:9",
        "client_secret": "x",
        "local": True,
    }
    env = {
        **_environment(tmp_path),
        "PSG_AUTH__REQUIRED": "false",
        "PSG_PARTNERS": json.dumps([partner]),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    async with asyncio.timeout(30):
        while not lines or "gateway serving on port" not in lines[-1]:
            line = (await process.stderr.readline()).decode()
            assert line, "gateway exited before serving: " + "".join(lines)
            lines.append(line)
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        await process.communicate()
    warnings = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(
        w["level"] == "WARNING" and "AUTHENTICATION IS OFF" in w["message"] for w in warnings
    ), lines
