"""The deployment's Envoy config for real (issue 11, finding 11): two gateway replicas as
processes on one PostgreSQL behind a real Envoy on docker/envoy.yaml (addresses moved to
loopback). A replica that starts late joins within seconds, not after Envoy's default 60 s
`no_traffic_interval`; when one replica is SIGKILLed, calls keep succeeding on the other."""

from __future__ import annotations

import signal
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import grpc
import httpx2
import pytest
import yaml

from gateway.cli.sandbox_link import link_to_sandbox
from gateway.client.channels import open_channel
from gateway.client.credentials import PartnerTokens
from gateway.client.journeys import TripPlan, book_request, compose_request
from gateway.edge import (
    EdgeLayout,
    RunningEnvoy,
    load_envoy_config,
    local_envoy_config,
    running_envoy,
)
from gateway.settings import GatewaySettings, load_settings
from partnergateway.v1 import (
    order_pb2,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_service_pb2,
    solution_service_pb2_grpc,
)
from sandbox import SandboxCluster
from tests.processes import free_port, gateway_process
from tests.support import SandboxControl, secret_of

PLAN = TripPlan.sample(datetime.now(UTC).date())
# Health checks every 2 s: a replica's change shows within one interval plus a check's time.
# The bound leaves room for a loaded two-core machine, and stays far below the 60 s that
# Envoy's default no_traffic_interval would take.
JOIN_BOUND_S = 12.0

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("quiet")]


def write_config(
    path: Path,
    cluster: SandboxCluster,
    root: Path,
    name: str,
    grpc_port: int,
    issuer_port: int,
    issuer_url: str,
    dsn: str,
    schema: str,
) -> Path:
    """One replica's settings: its own ports and state, the shared store, signing key, data
    key ring and issuer URL (Envoy's issuer listener), as in docker/compose.yaml."""
    settings = link_to_sandbox(GatewaySettings(state_dir=root / name), cluster)
    document = {
        "server": {"address": f"127.0.0.1:{grpc_port}", "grace_period_s": 1},
        "state_dir": str(root / name),
        "storage": {
            "dsn": dsn,
            "pg_schema": schema,
            "data_key_file": str(root / "data-keys.json"),
        },
        "booking": {"replica_id": name, "step_timeout_s": 5, "lease_ttl_s": 3},
        "partners": [p.model_dump(mode="json") for p in settings.partners],
        "auth": {
            "issuer": {
                "address": f"127.0.0.1:{issuer_port}",
                "url": issuer_url,
                "signing_key_file": str(root / "issuer-key.json"),
                "clients": [
                    {"client_id": p.id, "client_secret": secret_of(p.id)} for p in settings.partners
                ],
            }
        },
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


async def requests_per_host(envoy: RunningEnvoy, http: httpx2.AsyncClient) -> dict[str, int]:
    """Completed requests per replica, from Envoy's admin /clusters."""
    text = (await http.get(f"{envoy.admin_url}/clusters")).text
    counts: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split("::")
        if len(parts) == 4 and parts[0] == "gateway_replicas" and parts[2] == "rq_total":
            counts[parts[1]] = int(parts[3])
    return counts


async def one_booking(channel: grpc.aio.Channel, request_id: str) -> order_pb2.Order:
    """A composition and its booking, each a call Envoy sends to any healthy replica."""
    solutions = solution_service_pb2_grpc.SolutionServiceStub(channel)
    composed = await solutions.ComposeSolution(
        compose_request("roaming", PLAN, request_id=f"{request_id}-c"), timeout=20
    )
    got = await solutions.GetSolution(
        solution_service_pb2.GetSolutionRequest(solution_id=composed.solution.solution_id),
        timeout=10,
    )
    orders = order_service_pb2_grpc.OrderServiceStub(channel)
    booked = await orders.BookSolution(
        book_request(got.solution.solution_id, PLAN, f"{request_id}-b", "telecom-cn"), timeout=30
    )
    order: order_pb2.Order = booked.order
    return order


async def test_two_replicas_behind_envoy_survive_the_kill_of_one(
    sandbox: SandboxCluster,
    control: SandboxControl,
    postgres_dsn: str,
    postgres_schema: str,
    tmp_path: Path,
) -> None:
    del control
    ports = {name: (free_port(), free_port()) for name in ("r1", "r2")}
    envoy_issuer = free_port()
    issuer_url = f"http://127.0.0.1:{envoy_issuer}"
    configs = {
        name: write_config(
            tmp_path / f"{name}.yaml",
            sandbox,
            tmp_path,
            name,
            grpc_port,
            issuer_port,
            issuer_url,
            postgres_dsn,
            postgres_schema,
        )
        for name, (grpc_port, issuer_port) in ports.items()
    }
    layout = EdgeLayout(
        replicas=tuple(("127.0.0.1", g) for g, _ in ports.values()),
        issuers=tuple(("127.0.0.1", i) for _, i in ports.values()),
        issuer_listen=("127.0.0.1", envoy_issuer),
    )
    r2_host = f"127.0.0.1:{ports['r2'][0]}"

    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx2.AsyncClient(timeout=10, trust_env=False))
        first, _ = await stack.enter_async_context(gateway_process(configs["r1"]))
        # Envoy starts while r2 is not up yet, and no call has been made: the case where
        # Envoy's default (60 s between checks without traffic) kept a late replica out.
        envoy = await stack.enter_async_context(
            running_envoy(
                local_envoy_config(load_envoy_config(), layout),
                tmp_path / "envoy",
                healthy_replicas=1,
            )
        )
        second, _ = await stack.enter_async_context(gateway_process(configs["r2"]))
        joined = time.monotonic()
        healthy = await envoy.wait_healthy(2, timeout_s=JOIN_BOUND_S)
        assert r2_host in healthy
        join_s = time.monotonic() - joined

        tokens = PartnerTokens.from_settings(
            load_settings(configs["r1"]), issuer_url, default_partner="telecom-cn"
        )
        channel = await stack.enter_async_context(open_channel(envoy.grpc_target, tokens=tokens))
        for i in range(4):
            await one_booking(channel, f"lb-before-{i}")
        served = await requests_per_host(envoy, http)
        assert all(served.get(f"127.0.0.1:{g}", 0) > 0 for g, _ in ports.values()), served

        second.send_signal(signal.SIGKILL)
        assert await second.wait() == -signal.SIGKILL
        killed = time.monotonic()
        outcomes = []
        i = 0
        # Calls right after the kill, and on until Envoy has taken the replica out.
        while i < 6 or time.monotonic() - killed < 4:
            order = await one_booking(channel, f"lb-after-{i}")
            outcomes.append(order.state)
            i += 1
        assert await envoy.wait_healthy(1, timeout_s=JOIN_BOUND_S) == {
            f"127.0.0.1:{ports['r1'][0]}"
        }
        assert all(
            state in (order_pb2.ORDER_STATE_CONFIRMED, order_pb2.ORDER_STATE_CONFIRMING)
            for state in outcomes
        ), outcomes
        # The survivor serves orders of either replica.
        stub = order_service_pb2_grpc.OrderServiceStub(channel)
        listed = await stub.ListOrders(
            order_service_pb2.ListOrdersRequest(partner_id="telecom-cn", page_size=100), timeout=10
        )
        assert len(listed.orders) == 4 + len(outcomes)
        assert first.returncode is None
    print(f"late replica joined after {join_s:.1f} s; {len(outcomes)} bookings after the kill")
