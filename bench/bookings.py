"""Bookings per second and CPU per booking, end to end: real gRPC to gateway processes, real
HTTP to the sandbox partners at their default latencies, on SQLite, on PostgreSQL, and on two
replicas sharing one PostgreSQL, in one run.

    .venv/bin/python -m bench.bookings [--orders 96] [--concurrency 32] [--dsn postgresql://...]

Each booking is a saga of four holds and four confirmations, each of which is written to the
store before and after the partner call. Solutions are composed first (not timed). Every
gateway is its own `serve` process, so its CPU (from /proc) is its own: "CPU per booking" is
the gateways' CPU over the timed window divided by the bookings. With two replicas the
bookings alternate between them; both run the same configuration (one issuer URL and signing
key, so a token from one is good at the other), as replicas behind a load balancer would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import psycopg
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql

from bench.processes import free_port
from bench.procstat import cpu_seconds
from gateway.cli.sandbox_link import link_to_sandbox
from gateway.client import PartnerTokens, open_channel
from gateway.client.journeys import TripPlan, book_request, compose_request
from gateway.settings import GatewaySettings, load_settings
from partnergateway.v1 import order_pb2, order_service_pb2_grpc, solution_service_pb2_grpc
from sandbox import DEFAULT_PARTNERS, SandboxCluster, start_sandbox

_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Setup:
    name: str
    replicas: int
    dsn: str | None


@dataclass(frozen=True)
class Replica:
    pid: int
    target: str
    config: Path


def _config(
    cluster: SandboxCluster, workdir: Path, setup: Setup, schema: str, index: int, issuer: str
) -> Path:
    """Replica `index`'s settings: defaults but for the sandbox partners, the store, the
    per-partner rate limit (off: one entry partner books everything) and its issuer's port."""
    linked = link_to_sandbox(GatewaySettings(state_dir=workdir / "state"), cluster)
    document: dict[str, Any] = {
        "state_dir": str(workdir / f"state-{index}"),
        "log_level": "WARNING",
        "rate_limits": {"requests_per_s": 0},
        "partners": [p.model_dump(mode="json") for p in linked.partners],
        "auth": {
            "issuer": {
                "address": f"127.0.0.1:{free_port()}",
                "url": issuer,
                "token_ttl_s": 3600,
                "signing_key_file": str(workdir / "issuer-key.json"),
                "clients": [c.model_dump(mode="json") for c in linked.auth.issuer.clients],
            }
        },
        "storage": {"data_key_file": str(workdir / "data-keys.json")},
    }
    if index == 0:  # the first replica's issuer is the one clients reach
        document["auth"]["issuer"]["address"] = issuer.removeprefix("http://")
    if setup.dsn is not None:
        document["storage"] |= {"dsn": setup.dsn, "pg_schema": schema}
    path = workdir / f"replica-{index}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PSG_", "OTEL_"))}


async def _wait_serving(target: str, process: asyncio.subprocess.Process) -> None:
    give_up = time.monotonic() + _START_TIMEOUT_S
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < give_up and process.returncode is None:
            with contextlib.suppress(grpc.aio.AioRpcError):
                answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the gateway at {target} did not start")


@asynccontextmanager
async def _replica(config: Path, log: Path) -> AsyncIterator[Replica]:
    target = f"127.0.0.1:{free_port()}"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "gateway", "serve", "--config", str(config), "--address", target),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=_environment(),
        )
    try:
        await _wait_serving(target, process)
        yield Replica(process.pid, target, config)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def measure(
    cluster: SandboxCluster, workdir: Path, setup: Setup, orders: int, concurrency: int
) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    issuer = f"http://127.0.0.1:{free_port()}"
    configs = [_config(cluster, workdir, setup, schema, i, issuer) for i in range(setup.replicas)]
    try:
        async with contextlib.AsyncExitStack() as stack:
            # One after another: the first applies the schema's migrations.
            replicas = [
                await stack.enter_async_context(_replica(c, workdir / f"{c.stem}.log"))
                for c in configs
            ]
            tokens = PartnerTokens.from_settings(load_settings(configs[0]), issuer)
            channels = [
                await stack.enter_async_context(open_channel(r.target, tokens=tokens))
                for r in replicas
            ]
            return await _book_all(replicas, channels, orders, concurrency)
    finally:
        if setup.dsn is not None:
            with psycopg.connect(setup.dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )


async def _book_all(
    replicas: list[Replica], channels: list[grpc.aio.Channel], orders: int, concurrency: int
) -> dict[str, float]:
    plan = TripPlan.sample(datetime.now(UTC).date())
    compose = solution_service_pb2_grpc.SolutionServiceStub(channels[0])
    composed = [
        (await compose.ComposeSolution(compose_request("roaming", plan), timeout=30)).solution
        for _ in range(orders)
    ]
    booking = [order_service_pb2_grpc.OrderServiceStub(c) for c in channels]
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def book_one(i: int, solution_id: str, partner_id: str) -> int:
        async with gate:
            started = time.perf_counter()
            response = await booking[i % len(booking)].BookSolution(
                book_request(solution_id, plan, uuid.uuid4().hex, partner_id), timeout=120
            )
            latencies.append(time.perf_counter() - started)
            return response.order.state

    cpu_before = sum(cpu_seconds(r.pid) for r in replicas)
    host_before = _host_cpu()
    started = time.perf_counter()
    states = await asyncio.gather(
        *(book_one(i, s.solution_id, s.entry.partner_id) for i, s in enumerate(composed))
    )
    elapsed = time.perf_counter() - started
    cpu = sum(cpu_seconds(r.pid) for r in replicas) - cpu_before
    busy, total = (after - before for after, before in zip(_host_cpu(), host_before, strict=True))
    latencies.sort()
    return {
        "replicas": len(replicas),
        "bookings": orders,
        "confirmed": sum(s == order_pb2.ORDER_STATE_CONFIRMED for s in states),
        "bookings_per_s": round(orders / elapsed, 1),
        "cpu_ms_per_booking": round(cpu / orders * 1000, 1),
        # The whole machine (gateways, PostgreSQL, the sandbox partners and this client): near
        # 100 % the figures say more about the machine than about the gateway.
        "host_cpu_busy_pct": round(100 * busy / total, 1) if total else 0.0,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
    }


def _host_cpu() -> tuple[int, int]:
    """Busy and total jiffies of all CPUs so far (/proc/stat: idle and iowait count as idle)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


async def main(orders: int, concurrency: int, dsn: str | None) -> None:
    setups = [Setup("sqlite", 1, None)]
    if dsn:
        setups += [Setup("postgresql", 1, dsn), Setup("postgresql x2", 2, dsn)]
    results: dict[str, dict[str, float]] = {}
    async with await start_sandbox(DEFAULT_PARTNERS) as cluster:
        for setup in setups:
            with tempfile.TemporaryDirectory(prefix="psg-bench-") as workdir:
                results[setup.name] = await measure(
                    cluster, Path(workdir), setup, orders, concurrency
                )
    print(
        f"{'store':14} {'replicas':>8} {'bookings':>8} {'confirmed':>9} {'per s':>7}"
        f" {'CPU ms/b':>9} {'p50 ms':>8} {'p99 ms':>8} {'host CPU':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:14} {r['replicas']:>8.0f} {r['bookings']:>8.0f} {r['confirmed']:>9.0f}"
            f" {r['bookings_per_s']:>7} {r['cpu_ms_per_booking']:>9} {r['p50_ms']:>8}"
            f" {r['p99_ms']:>8} {r['host_cpu_busy_pct']:>7}%"
        )
    one, two = results.get("postgresql"), results.get("postgresql x2")
    summary: dict[str, object] = {"concurrency": concurrency, **results}
    if one and two:
        summary["two_replicas_speedup"] = round(two["bookings_per_s"] / one["bookings_per_s"], 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=96)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.concurrency, args.dsn or None))
