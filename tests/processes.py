"""Gateways as real `partner-gateway serve` processes, for the tests of what happens when one
dies, stalls or joins late (crash safety, stalled replicas, replicas behind Envoy)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def gateway_process(
    config: Path, crash_at: str | None = None, *, start_timeout_s: float = 60.0
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`serve --config config` in a child process, once it serves: the process and its
    target. The caller's `PSG_*`/`OTEL_*` variables are left out (the config says it all).
    With `crash_at`, the same gateway from the test-only entry point that SIGKILLs it when a
    saga reaches that point (`tests.crashing_gateway`). Terminated on exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PSG_", "OTEL_"))}
    command: tuple[str, ...] = ("gateway", "serve")
    if crash_at:
        command = ("tests.crashing_gateway", "--crash-at", crash_at)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *command,
        "--config",
        str(config),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    drain: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(start_timeout_s):
            while True:
                line = (await process.stderr.readline()).decode()
                assert line, "the gateway exited before serving"
                if "gateway serving on port" in line:
                    port = line.split("port")[1].split()[0]
                    break
        # Keep reading, so a chatty gateway never blocks on a full pipe.
        drain = asyncio.create_task(_drain(process.stderr))
        yield process, f"127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        if drain is not None:
            drain.cancel()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass
