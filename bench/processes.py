"""The benchmark's other processes: the partner stubs, the gateway, the bare baseline.

Each runs in a process of its own, so its CPU and memory are its own: the gateway is started
through its real command line (`serve --config FILE`, by way of `bench.run_gateway` for the
uvloop switch) and reached over real gRPC on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._closed_loop import WindowRule
from bench._inflight import StubControl
from bench.stubs import CLIENT_ID, load_fixtures

_START_TIMEOUT_S = 30.0
_WORKER_SERVING = re.compile(r"worker \d+ \(pid (\d+)\) serving on port")


def _environment() -> dict[str, str]:
    # PSG_* variables beat the YAML file, OTEL_* ones switch telemetry: a developer's own
    # settings must not leak into the measurement.
    return {k: v for k, v in os.environ.items() if not k.startswith(("PSG_", "OTEL_"))}


async def _stop(process: asyncio.subprocess.Process, grace_s: float = 10.0) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            process.kill()
            await process.wait()


@dataclass(frozen=True)
class Stubs:
    pid: int
    urls: dict[str, str]
    start_line: str
    control: StubControl


@asynccontextmanager
async def running_stubs(token_ttl_s: int) -> AsyncIterator[Stubs]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.stubs",
        "--token-ttl",
        str(token_ttl_s),
        "--exit-with-stdin",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=_environment(),
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT_S)
        if not line:
            raise RuntimeError("the partner stubs did not start")
        started = json.loads(line)
        async with StubControl(started["control"]) as control:
            yield Stubs(process.pid, started["partners"], line.decode(), control)
    finally:
        await _stop(process)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# The partner the load generator composes as, and its client secret at the gateway's issuer.
ENTRY_PARTNER = "telecom-cn"
ENTRY_SECRET = "bench-client-secret"


def gateway_config(
    stubs: Stubs,
    state_dir: Path,
    max_connections: int,
    issuer_address: str,
    *,
    auth_required: bool = True,
) -> dict[str, Any]:
    """Default settings but for the partners' addresses and the per-partner limits: the
    connection pool and the bulkhead admit `max_connections` calls, so that 1,000
    compositions really wait at the partners together (the default bulkhead, 100 calls,
    would refuse most of them at once). Authentication is on, as by default: the gateway's
    own issuer, on `issuer_address`, knows the entry partner, and every call is checked.
    `auth_required=False` is `auth.required: false`: the issuer still runs, nothing is
    checked, and the request's entry partner is the caller."""
    fixtures = load_fixtures()["partners"]
    return {
        "state_dir": str(state_dir),
        "log_level": "WARNING",
        "resilience": {"bulkhead": {"max_concurrent": max_connections}},
        # One entry partner sends every composition: the per-partner rate limit is off.
        "rate_limits": {"requests_per_s": 0},
        "auth": {
            "required": auth_required,
            "issuer": {
                "address": issuer_address,
                # The client fetches one token for a whole run: make it outlast the longest.
                "token_ttl_s": 3600,
                "clients": [{"client_id": ENTRY_PARTNER, "client_secret": ENTRY_SECRET}],
            },
        },
        "partners": [
            {
                "id": pid,
                "kind": fixtures[pid]["kind"],
                "name": fixtures[pid]["name"],
                "base_url": url,
                "client_id": CLIENT_ID,
                "client_secret": fixtures[pid]["client_secret"],
                "max_connections": max_connections,
                "local": True,
            }
            for pid, url in stubs.urls.items()
        ],
    }


@dataclass(frozen=True)
class Gateway:
    pid: int
    """The `serve` process; with `--workers N`, the parent of the workers."""
    target: str
    log: Path
    issuer_url: str
    """The token issuer the gateway process runs (`auth.issuer`)."""
    auth_required: bool = True
    worker_pids: tuple[int, ...] = ()
    """With `--workers N`, the worker processes (all serving `target`)."""


@asynccontextmanager
async def running_gateway_process(
    stubs: Stubs,
    workdir: Path,
    *,
    name: str,
    uvloop: bool,
    max_connections: int,
    environment: Mapping[str, str] | None = None,
    auth_required: bool = True,
    workers: int = 1,
) -> AsyncIterator[Gateway]:
    """`python -m bench.run_gateway [--uvloop] serve --config FILE [--workers N]`, until it
    (and each of its workers) serves.

    `environment` is added to this process's (less every `PSG_*` and `OTEL_*` variable, so a
    developer's own settings do not leak in). With `workers` > 1, `serve` starts that many
    worker processes sharing the port (SO_REUSEPORT), the state directory (one SQLite file)
    and the issuer's port and signing key, as `serve --workers` does in production."""
    config = workdir / f"{name}.yaml"
    issuer_address = f"127.0.0.1:{free_port()}"
    settings = gateway_config(
        stubs,
        workdir / f"{name}-state",
        max_connections,
        issuer_address,
        auth_required=auth_required,
    )
    config.write_text(yaml.safe_dump(settings))
    log = workdir / f"{name}.log"
    target = f"127.0.0.1:{free_port()}"
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.run_gateway",
            *(["--uvloop"] if uvloop else []),
            "serve",
            "--config",
            str(config),
            "--address",
            target,
            *(["--workers", str(workers)] if workers > 1 else []),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env={**_environment(), **(environment or {})},
        )
    try:
        await _wait_serving(target, process, log)
        worker_pids = await _wait_workers(process, log, workers) if workers > 1 else ()
        yield Gateway(
            process.pid,
            target,
            log,
            f"http://{issuer_address}",
            auth_required=auth_required,
            worker_pids=worker_pids,
        )
    finally:
        await _stop(process)


async def _wait_workers(
    process: asyncio.subprocess.Process, log: Path, workers: int
) -> tuple[int, ...]:
    """The pids of `workers` workers, once each has said it serves (`serve_worker` logs
    "worker I (pid P) serving on port …")."""
    give_up = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < give_up and process.returncode is None:
        text = await asyncio.to_thread(log.read_text, errors="replace")
        pids = tuple(int(pid) for pid in _WORKER_SERVING.findall(text))
        if len(pids) >= workers:
            return pids[:workers]
        await asyncio.sleep(0.1)
    tail = (await asyncio.to_thread(log.read_text, errors="replace"))[-2000:]
    raise RuntimeError(f"{workers} workers did not all start serving:\n{tail}")


@dataclass
class OtlpSink:
    endpoint: str
    exports: int = 0
    bytes: int = 0


@asynccontextmanager
async def running_otlp_sink() -> AsyncIterator[OtlpSink]:
    """`bench.otlp_sink`; its counts are filled in when the block ends."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.otlp_sink",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=_environment(),
    )
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT_S)
        if not line:
            raise RuntimeError("the OTLP sink did not start")
        sink = OtlpSink(json.loads(line)["endpoint"])
        yield sink
        process.stdin.close()
        last = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT_S)
        if last:
            counts = json.loads(last)
            sink.exports, sink.bytes = counts["exports"], counts["bytes"]
    finally:
        await _stop(process)


async def _wait_serving(target: str, process: asyncio.subprocess.Process, log: Path) -> None:
    give_up = time.monotonic() + _START_TIMEOUT_S
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < give_up:
            if process.returncode is not None:
                break
            with contextlib.suppress(grpc.aio.AioRpcError):
                answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            await asyncio.sleep(0.1)
    tail = (await asyncio.to_thread(log.read_text, errors="replace"))[-2000:]
    raise RuntimeError(f"the gateway did not start serving on {target}:\n{tail}")


async def run_module(module: str, *args: str) -> dict[str, Any]:
    """Runs `python -m module args…` to the end; the JSON object on its last line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_environment(),
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{err.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def run_baseline(
    stubs: Stubs,
    *,
    transport: str,
    uvloop: bool,
    levels: list[int],
    rule: WindowRule,
    max_connections: int,
    inflight: int = 0,
    hold_s: float = 20.0,
) -> dict[str, Any]:
    """Runs `bench.baseline` to the end; its JSON result."""
    return await run_module(
        "bench.baseline",
        "--stubs",
        stubs.start_line,
        "--transport",
        transport,
        *(["--uvloop"] if uvloop else []),
        "--levels",
        ",".join(str(level) for level in levels),
        "--window",
        json.dumps(rule.to_json()),
        "--max-connections",
        str(max_connections),
        "--inflight",
        str(inflight),
        "--hold",
        str(hold_s),
    )
