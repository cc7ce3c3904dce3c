"""Bookings per second, end to end: real gRPC to the gateway, real HTTP to the sandbox
partners at their default latencies, on SQLite and on PostgreSQL, in one run.

    .venv/bin/python -m bench.bookings [--orders 64] [--concurrency 16] [--dsn postgresql://...]

Each booking is a saga of four holds and four confirmations, each of which is written to the
store before and after the partner call. Solutions are composed first (not timed). Calls
carry the entry partner's token from the gateway's own issuer, as by default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from gateway.cli.channels import open_channel
from gateway.cli.credentials import PartnerTokens
from gateway.cli.journey import TripPlan, book_request, compose_request
from gateway.cli.sandbox_link import link_to_sandbox
from gateway.runtime import running_gateway
from gateway.settings import (
    AuthSettings,
    GatewaySettings,
    RateLimitSettings,
    StorageSettings,
    TokenIssuerSettings,
)
from partnergateway.v1 import (
    order_pb2,
    order_service_pb2_grpc,
    solution_service_pb2_grpc,
)
from sandbox import DEFAULT_PARTNERS, SandboxCluster, start_sandbox


async def measure(
    cluster: SandboxCluster, settings: GatewaySettings, orders: int, concurrency: int
) -> dict[str, float]:
    linked = link_to_sandbox(settings, cluster)  # the sandbox partners: issuer clients too
    async with (
        running_gateway(linked, "127.0.0.1:0") as gateway,
        open_channel(
            gateway.target, tokens=PartnerTokens.from_settings(linked, gateway.issuer_url)
        ) as channel,
    ):
        solutions = solution_service_pb2_grpc.SolutionServiceStub(channel)
        booking = order_service_pb2_grpc.OrderServiceStub(channel)
        plan = TripPlan.sample(datetime.now(UTC).date())
        composed = [
            (await solutions.ComposeSolution(compose_request("roaming", plan), timeout=30)).solution
            for _ in range(orders)
        ]
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []

        async def book_one(solution_id: str, partner_id: str) -> int:
            async with gate:
                started = time.perf_counter()
                response = await booking.BookSolution(
                    book_request(solution_id, plan, uuid.uuid4().hex, partner_id),
                    timeout=60,
                )
                latencies.append(time.perf_counter() - started)
                return response.order.state

        started = time.perf_counter()
        states = await asyncio.gather(
            *(book_one(s.solution_id, s.entry.partner_id) for s in composed)
        )
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "bookings": orders,
        "confirmed": sum(s == order_pb2.ORDER_STATE_CONFIRMED for s in states),
        "bookings_per_s": round(orders / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
    }


async def main(orders: int, concurrency: int, dsn: str | None) -> None:
    results = {}
    async with await start_sandbox(DEFAULT_PARTNERS) as cluster:
        with tempfile.TemporaryDirectory(prefix="psg-bench-") as state:
            # One entry partner books every order: the per-partner rate limit is off.
            base = GatewaySettings(
                state_dir=Path(state),
                rate_limits=RateLimitSettings(requests_per_s=0),
                auth=AuthSettings(issuer=TokenIssuerSettings(address="127.0.0.1:0")),
            )
            results["sqlite"] = await measure(cluster, base, orders, concurrency)
            if dsn:
                schema = f"bench_{uuid.uuid4().hex[:12]}"
                try:
                    pg = base.model_copy(
                        update={"storage": StorageSettings(dsn=dsn, pg_schema=schema)}
                    )
                    results["postgresql"] = await measure(cluster, pg, orders, concurrency)
                finally:
                    with psycopg.connect(dsn, autocommit=True) as conn:
                        conn.execute(
                            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                                sql.Identifier(schema)
                            )
                        )
    print(f"{'store':12} {'bookings':>8} {'confirmed':>9} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in results.items():
        print(
            f"{name:12} {r['bookings']:>8.0f} {r['confirmed']:>9.0f} {r['bookings_per_s']:>7} "
            f"{r['p50_ms']:>8} {r['p99_ms']:>8}"
        )
    print(json.dumps({"concurrency": concurrency, **results}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.concurrency, args.dsn or None))
