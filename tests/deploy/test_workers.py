"""`serve --sandbox --workers 2`: two processes on one port, both serving, one clean stop; and
both sign tokens with one key, so a token from either is good at both.

Which worker took a connection is read from /proc: each worker process holds the server end
of the TCP connections the kernel gave it (SO_REUSEPORT spreads them by connection hash).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from gateway.client.journeys import TripPlan, compose_request
from partnergateway.v1 import (
    order_service_pb2,
    order_service_pb2_grpc,
    solution_pb2,
    solution_service_pb2_grpc,
)
from tests.support import bearer, sandbox_tokens

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing"),
]

WORKERS = 2
# Each channel is its own TCP connection; 16 all landing on one of two workers: p = 2^-15.
CHANNELS = 16
WORKER_LINE = re.compile(r"worker (\d+) \(pid (\d+)\) serving on port (\d+)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_for(
    process: asyncio.subprocess.Process, log: Path, pattern: re.Pattern[str], count: int
) -> list[re.Match[str]]:
    async with asyncio.timeout(60):
        while True:
            output = await asyncio.to_thread(log.read_text, encoding="utf-8")
            matches = list(pattern.finditer(output))
            if len(matches) >= count:
                return matches
            assert process.returncode is None, f"serve exited {process.returncode}:\n{output}"
            await asyncio.sleep(0.1)


def _connections_by_pid(pids: list[int], port: int) -> dict[int, int]:
    """How many established server-side connections on `port` each process holds."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01":  # 01 = ESTABLISHED
                    inodes.add(fields[9])
    counts = {}
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        targets = [os.readlink(fd) for fd in fd_dir.iterdir()]
        counts[pid] = sum(1 for t in targets if t.startswith("socket:[") and t[8:-1] in inodes)
    return counts


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def issuer_port() -> int:
    return _free_port()


@pytest.fixture
async def workers(
    tmp_path: Path, issuer_port: int
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path, int]]:
    port = _free_port()
    log = tmp_path / "serve.log"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PSG_")},
        "PSG_STATE_DIR": str(tmp_path / "state"),
        "PSG_SERVER__GRACE_PERIOD_S": "1",
        # Every worker serves the token issuer on this one port, too.
        "PSG_AUTH__ISSUER__ADDRESS": f"127.0.0.1:{issuer_port}",
    }
    with log.open("w", encoding="utf-8") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--sandbox",
            "--workers",
            str(WORKERS),
            "--address",
            f"127.0.0.1:{port}",
            env=environment,
            stdout=output,
            stderr=output,
        )
    try:
        yield process, log, port
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_two_workers_share_the_port_and_stop_cleanly(
    workers: tuple[asyncio.subprocess.Process, Path, int], issuer_port: int
) -> None:
    process, log, port = workers
    started = await _wait_for(process, log, WORKER_LINE, WORKERS)
    pids = sorted(int(m.group(2)) for m in started)
    assert {int(m.group(3)) for m in started} == {port}
    assert len(set(pids)) == WORKERS
    assert process.pid not in pids

    probe = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.healthprobe", "--address", f"127.0.0.1:{port}"
    )
    assert await asyncio.wait_for(probe.wait(), timeout=30) == 0

    plan = TripPlan.sample(datetime.now(UTC).date())
    # A local subchannel pool per channel: otherwise gRPC shares one connection among them.
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.enable_http_proxy", 0)]
    # The sandbox partners' well-known secrets, as `serve --sandbox` registers them. One token,
    # issued by whichever worker took that connection, is sent to both workers below.
    tokens = sandbox_tokens(f"http://127.0.0.1:{issuer_port}")
    metadata = bearer(await tokens.token("airline-a"))
    channels = [
        grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) for _ in range(CHANNELS)
    ]
    try:
        responses = await asyncio.gather(
            *(
                solution_service_pb2_grpc.SolutionServiceStub(channel).ComposeSolution(
                    compose_request("flight", plan), timeout=30, metadata=metadata
                )
                for channel in channels
            )
        )
        for response in responses:
            assert all(
                c.status == solution_pb2.COMPONENT_STATUS_OK for c in response.solution.components
            )
        assert len({r.solution.fingerprint for r in responses}) == 1
        served = _connections_by_pid(pids, port)
    finally:
        for channel in channels:
            await channel.close(grace=None)

    assert sum(served.values()) == CHANNELS
    # Both workers served, and both accepted the one token: they share the signing key.
    assert all(count > 0 for count in served.values()), f"one worker served all: {served}"
    # Tokens from either worker's issuer: a few, each over a new connection (the kernel
    # spreads those over the workers too, so most likely both issue some), each used on
    # several new gRPC connections.
    for _ in range(4):
        fresh = sandbox_tokens(f"http://127.0.0.1:{issuer_port}")
        token = bearer(await fresh.token("telecom-cn"))
        checks = [grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) for _ in range(4)]
        try:
            for channel in checks:
                listed = await order_service_pb2_grpc.OrderServiceStub(channel).ListOrders(
                    order_service_pb2.ListOrdersRequest(), timeout=10, metadata=token
                )
                assert list(listed.orders) == []
        finally:
            for channel in checks:
                await channel.close(grace=None)

    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    output = await asyncio.to_thread(log.read_text, encoding="utf-8")
    assert output.count("stopped") >= WORKERS + 1  # every worker, then the gateway
    for pid in pids:
        assert not _running(pid), f"worker {pid} outlived the parent"
