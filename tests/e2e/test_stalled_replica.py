"""Two gateway replicas (real `serve` processes) on one PostgreSQL; replica A is SIGSTOPped while
it holds a transaction open in the middle of 30 concurrent bookings, or SIGKILLed during
them. Replica B's bookings must go on, delayed by at most the configured bound; and once A
is back (or B has taken its sagas over), every order ends final with no hold left held and
nothing booked twice at any partner."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import grpc
import psycopg
import pytest
import yaml

from gateway.cli.sandbox_link import link_to_sandbox
from gateway.client.channels import open_channel
from gateway.client.credentials import PartnerTokens
from gateway.model import FINAL_STATES, ComponentState, OrderRecord
from gateway.settings import GatewaySettings, load_settings
from gateway.storage import PostgresStore
from partnergateway.v1 import order_pb2, solution_pb2
from sandbox import DEFAULT_PARTNERS, SandboxCluster, start_sandbox
from tests.e2e.booking_support import book, compose_solution
from tests.processes import free_port, gateway_process
from tests.support import secret_of

IDLE_IN_TRANSACTION_S = 2.0
# B's booking may wait for a lock A holds at most until A's transaction is ended; the rest is
# a booking's own time (eight partner calls) on a loaded 2-core machine.
BOUND_S = IDLE_IN_TRANSACTION_S + 6.0
FROZEN_S = BOUND_S + 4.0  # A stays stopped longer than B may take
BOOKINGS_ON_A = 30
ROUNDS = 2


def write_config(path: Path, cluster: SandboxCluster, workdir: Path, dsn: str, schema: str) -> Path:
    settings = link_to_sandbox(GatewaySettings(state_dir=workdir), cluster)
    partner_ids = [p.id for p in settings.partners]
    document = {
        "server": {"address": "127.0.0.1:0", "grace_period_s": 1},
        "state_dir": str(workdir / path.stem),
        "log_level": "WARNING",
        "rate_limits": {"requests_per_s": 0},
        "booking": {"step_timeout_s": 2, "lease_ttl_s": 3, "recovery_interval_s": 0.5},
        "storage": {
            "dsn": dsn,
            "pg_schema": schema,
            "idle_in_transaction_timeout_s": IDLE_IN_TRANSACTION_S,
            "lock_timeout_s": 1,
            "data_key_file": str(workdir / "data-keys.json"),  # one ring for both replicas
        },
        "audit": {"signing_key_file": str(workdir / "audit-key.json")},
        "partners": [p.model_dump(mode="json") for p in settings.partners],
        "auth": {
            "issuer": {
                "address": f"127.0.0.1:{free_port()}",
                "signing_key_file": str(workdir / f"{path.stem}-issuer-key.json"),
                "clients": [
                    {"client_id": pid, "client_secret": secret_of(pid)} for pid in partner_ids
                ],
            }
        },
    }
    path.write_text(yaml.safe_dump(document))
    return path


def database_ports(pid: int) -> set[int]:
    """The local TCP ports of `pid`'s connections to PostgreSQL (port 5432), from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == 5432:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


async def open_transactions(dsn: str, pid: int) -> int:
    """How many of `pid`'s database sessions are idle inside an open transaction."""
    ports = database_ports(pid)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE client_port = ANY(%s) AND state = 'idle in transaction'",
            (list(ports),),
        )
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def stop_inside_a_transaction(dsn: str, pid: int) -> None:
    """SIGSTOPs `pid` at a moment one of its sessions has a transaction open (retrying at
    random moments until one is caught)."""
    for _ in range(300):
        await asyncio.sleep(random.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(0.05)  # a statement on the way finishes; the session then idles
        if await open_transactions(dsn, pid):
            return
        os.kill(pid, signal.SIGCONT)
    pytest.fail("never caught replica A inside a transaction")


@dataclass
class Tally:
    orders: int = 0
    states: Counter[str] | None = None
    held_left: int = 0
    double_bookings: int = 0


def tally(cluster: SandboxCluster, finals: list[OrderRecord]) -> Tally:
    """Counts over every order: final states, holds left held, bookings beyond one per
    confirmed component at each partner."""
    confirmed_components = Counter(
        c.partner_id for o in finals for c in o.components if c.state == ComponentState.CONFIRMED
    )
    result = Tally(len(finals), Counter(o.state.value for o in finals))
    for partner_id, running in cluster.partners.items():
        holds = list(running.state.bookings.holds.values())
        result.held_left += sum(h.status == "held" for h in holds)
        confirmed = sum(h.status == "confirmed" for h in holds)
        result.double_bookings += max(0, confirmed - confirmed_components[partner_id])
    return result


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["sigstop", "sigkill"])
async def test_a_stalled_or_killed_replica_does_not_stall_the_other(
    fault: str, tmp_path: Path, postgres_dsn: str, postgres_schema: str
) -> None:
    async with await start_sandbox(DEFAULT_PARTNERS) as cluster:
        configs = [
            write_config(
                tmp_path / f"{name}.yaml", cluster, tmp_path, postgres_dsn, postgres_schema
            )
            for name in ("a", "b")
        ]
        tokens = [PartnerTokens.from_settings(load_settings(c)) for c in configs]
        latencies: list[float] = []
        placed: list[str] = []
        for round_ in range(ROUNDS):
            async with (
                gateway_process(configs[0]) as (a, a_target),
                gateway_process(configs[1]) as (_, b_target),
                open_channel(a_target, tokens=tokens[0]) as to_a,
                open_channel(b_target, tokens=tokens[1]) as to_b,
            ):
                solutions = [await compose_solution(to_a) for _ in range(BOOKINGS_ON_A)]
                for_b = [await compose_solution(to_b) for _ in range(3)]
                on_a = [
                    asyncio.create_task(_book_quietly(to_a, s, f"a-{round_}-{i}"))
                    for i, s in enumerate(solutions)
                ]
                await asyncio.sleep(0.3)  # bookings under way on A
                if fault == "sigstop":
                    await stop_inside_a_transaction(postgres_dsn, a.pid)
                else:
                    await asyncio.sleep(random.uniform(0.0, 0.5))
                    a.kill()
                stopped_at = time.monotonic()
                try:
                    for i, solution in enumerate(for_b):
                        started = time.monotonic()
                        async with asyncio.timeout(BOUND_S):
                            order = await book(to_b, solution, f"b-{round_}-{i}")
                        latencies.append(time.monotonic() - started)
                        assert order.state == order_pb2.ORDER_STATE_CONFIRMED, order
                        placed.append(order.order_id)
                    await asyncio.sleep(max(0.0, FROZEN_S - (time.monotonic() - stopped_at)))
                finally:
                    if fault == "sigstop":
                        os.kill(a.pid, signal.SIGCONT)
                placed += [o for o in await asyncio.gather(*on_a) if o]
                # Whatever A left unfinished, A (woken) or B (taking over) finishes.
                finals = await _all_final(postgres_dsn, postgres_schema, configs[1], placed)

        counts = tally(cluster, finals)
    print(
        f"\n{fault}: {ROUNDS} rounds, {counts.orders} orders,"
        f" final states {dict(counts.states or {})}, holds left held {counts.held_left},"
        f" double bookings {counts.double_bookings};"
        f" B's bookings while A was down: {[round(s, 2) for s in latencies]} s"
    )
    assert max(latencies) < BOUND_S
    assert counts.held_left == 0
    assert counts.double_bookings == 0


async def _book_quietly(
    channel: grpc.aio.Channel, solution: solution_pb2.Solution, request_id: str
) -> str | None:
    """Books on A; A may freeze or die under the call, so the order id may never come back
    (then the order is found in the store by its request id)."""
    try:
        return (await book(channel, solution, request_id)).order_id
    except grpc.aio.AioRpcError:
        return f"{solution.entry.partner_id}/{request_id}"


async def _all_final(dsn: str, schema: str, config: Path, ids: list[str]) -> list[OrderRecord]:
    settings = load_settings(config)
    store = await PostgresStore.open(
        dsn, schema=schema, cipher=settings.storage.data_cipher(settings.state_dir)
    )
    try:
        async with asyncio.timeout(60):
            while True:
                found = []
                for ident in ids:
                    if "/" in ident:  # a request id: the order A stored for it, if any
                        request = await store.find_order_request(*ident.split("/"))
                        order = None if request is None else await store.get_order(request.order_id)
                    else:
                        order = await store.get_order(ident)
                    if order is not None:
                        found.append(order)
                if all(o.state in FINAL_STATES for o in found):
                    return found
                await asyncio.sleep(0.2)
    finally:
        await store.aclose()
