"""`serve --workers N`: N gateway processes sharing one port through SO_REUSEPORT.

grpc.aio runs one event loop per process, so a machine's cores are used by processes, and the
Linux kernel spreads new connections over the processes listening on the port. The parent
serves no gRPC itself. It resolves the settings once (with `--sandbox` it also starts the
sandbox partners, once, and points the settings at them), writes them to a private file, and
starts N children as `python -m gateway serve --worker I --config FILE --address ADDRESS`.
The children get the environment without `PSG_*`, so the file — already overridden by the
environment — is exactly what they run.

Stopping: SIGTERM or SIGINT to the parent is forwarded to every worker, each drains like a
single gateway, and the parent exits when all have; a second signal kills them at once. A
worker that exits on its own stops the others and the parent exits 1: restarting is left to
whatever runs the parent (systemd, a container runtime). A worker whose parent vanished
(SIGKILL) stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from gateway.cli.logs import quiet_start
from gateway.cli.otel_edge import edge_telemetry
from gateway.cli.sandbox_link import link_to_sandbox
from gateway.cli.sandbox_partners import apply_knobs, partners_table
from gateway.runtime import running_gateway, wait_for_termination
from gateway.settings import GatewaySettings
from sandbox import DEFAULT_PARTNERS, start_sandbox

__all__ = ["fixed_port", "serve_worker", "serve_workers", "share_issuer_key"]

# Beyond the drain grace: how long the parent waits for workers before it kills them.
_KILL_MARGIN_S = 10.0
# How often a worker checks that its parent is still there.
_PARENT_POLL_S = 1.0


def fixed_port(address: str) -> int:
    """The port of `host:port`; workers can only share a port that is known in advance."""
    _, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) == 0:
        raise ValueError(
            f"--workers needs a fixed port, not {address!r}: every worker binds the same one"
        )
    return int(port)


async def serve_workers(
    settings: GatewaySettings,
    *,
    workers: int,
    sandbox: bool,
    address: str,
    console: Console,
    knobs: dict[str, dict[str, Any]] | None = None,
) -> int:
    """Run `workers` gateway processes on `address` until SIGTERM/SIGINT; the exit code."""
    async with AsyncExitStack() as stack:
        if sandbox:
            telemetry = edge_telemetry("sandbox-partners", console)
            stack.callback(telemetry.shutdown)
            tracer = telemetry.tracer_provider if telemetry.enabled else None
            with quiet_start():
                cluster = await stack.enter_async_context(
                    await start_sandbox(DEFAULT_PARTNERS, tracer_provider=tracer)
                )
            apply_knobs(cluster, knobs or {})
            console.print(partners_table(cluster))
            settings = link_to_sandbox(settings, cluster)
        state = stack.enter_context(tempfile.TemporaryDirectory(prefix="psg-workers-"))
        if settings.auth.issuer.enabled:
            try:
                fixed_port(settings.auth.issuer.address)
            except ValueError as exc:
                console.print(f"[red]auth.issuer.address: {exc}[/red]")
                return 2
            settings = share_issuer_key(settings, Path(state))
        settings_file = _write_settings(settings, Path(state))
        return await _supervise(settings, settings_file, workers, address, console)


async def serve_worker(
    settings: GatewaySettings, *, index: int, address: str | None, console: Console
) -> None:
    """One worker: a gateway on a shared port until SIGTERM/SIGINT or its parent is gone."""
    replica_id = settings.booking.replica_id
    if replica_id:
        # Workers are replicas of each other: each needs its own name in saga leases.
        booking = settings.booking.model_copy(update={"replica_id": f"{replica_id}-{index}"})
        settings = settings.model_copy(update={"booking": booking})
    parent = os.getppid()
    telemetry = edge_telemetry("partner-gateway")
    try:
        async with contextlib.AsyncExitStack() as stack:
            with quiet_start():  # the line below is the account of the start
                gateway = await stack.enter_async_context(
                    running_gateway(settings, address, reuse_port=True, telemetry=telemetry)
                )
            console.print(f"worker {index} (pid {os.getpid()}) serving on port {gateway.port}")
            await _until_stopped_or_orphaned(parent)
    finally:
        telemetry.shutdown()
    console.print(f"worker {index} (pid {os.getpid()}) stopped")


def share_issuer_key(settings: GatewaySettings, directory: Path) -> GatewaySettings:
    """Every worker serves the embedded token issuer on the shared port, so all must sign with
    one key: without a configured key file, one in the workers' private directory."""
    issuer = settings.auth.issuer
    if not issuer.enabled or issuer.signing_key_file is not None:
        return settings
    shared = issuer.model_copy(update={"signing_key_file": directory / "issuer-signing-key.json"})
    auth = settings.auth.model_copy(update={"issuer": shared})
    return settings.model_copy(update={"auth": auth})


def _write_settings(settings: GatewaySettings, directory: Path) -> Path:
    # The file holds partner secrets: mkstemp creates it readable by this user only.
    fd, name = tempfile.mkstemp(suffix=".yaml", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        yaml.safe_dump(settings.model_dump(mode="json"), file, sort_keys=False)
    return Path(name)


def _worker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in environ.items() if not key.startswith("PSG_")}


async def _supervise(
    settings: GatewaySettings, settings_file: Path, workers: int, address: str, console: Console
) -> int:
    signals = _Signals()
    with signals.installed():
        children = await _spawn(settings_file, address, workers)
        pids = ", ".join(str(child.pid) for child in children)
        console.print(f"gateway: {workers} workers on {address} (pids {pids})")
        exits = {asyncio.create_task(child.wait()): child for child in children}
        first = asyncio.ensure_future(signals.first)
        done, _ = await asyncio.wait({first, *exits}, return_when=asyncio.FIRST_COMPLETED)
        failed = first not in done
        if failed:
            first.cancel()
            child = next(exits[task] for task in done if task in exits)
            console.print(
                f"[red]worker pid {child.pid} exited with {child.returncode}; "
                "stopping the others[/red]"
            )
        signals.forward_to(children, first.result() if not failed else signal.SIGTERM)
        try:
            async with asyncio.timeout(settings.server.grace_period_s + _KILL_MARGIN_S):
                await asyncio.gather(*exits)
        except TimeoutError:
            console.print("[red]workers did not stop in time; killing them[/red]")
            _send(children, signal.SIGKILL)
            await asyncio.gather(*exits)
    console.print("gateway stopped")
    return 1 if failed or any(child.returncode != 0 for child in children) else 0


async def _spawn(
    settings_file: Path, address: str, workers: int
) -> list[asyncio.subprocess.Process]:
    environment = _worker_environment(os.environ)
    children: list[asyncio.subprocess.Process] = []
    try:
        for index in range(workers):
            children.append(
                await asyncio.create_subprocess_exec(
                    *_worker_command(settings_file, address, index),
                    env=environment,
                    stdin=asyncio.subprocess.DEVNULL,
                    # Own session: Ctrl-C in a terminal reaches the parent alone, which
                    # forwards it once, instead of every worker getting it twice.
                    start_new_session=True,
                )
            )
    except BaseException:
        _send(children, signal.SIGTERM)
        raise
    return children


def _worker_command(settings_file: Path, address: str, index: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--config",
        str(settings_file),
        "--address",
        address,
        "--worker",
        str(index),
    ]


def _send(children: list[asyncio.subprocess.Process], signum: int) -> None:
    for child in children:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)


class _Signals:
    """SIGTERM/SIGINT for the parent: the first is forwarded, a second kills the workers."""

    def __init__(self) -> None:
        self.first: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._children: list[asyncio.subprocess.Process] = []

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._received, signum)
        try:
            yield
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    def forward_to(self, children: list[asyncio.subprocess.Process], signum: int) -> None:
        self._children = children
        _send(children, signum)

    def _received(self, signum: int) -> None:
        if not self.first.done():
            self.first.set_result(signum)
        elif self._children:
            _send(self._children, signal.SIGKILL)


async def _until_stopped_or_orphaned(parent: int) -> None:
    stopped = asyncio.create_task(wait_for_termination())
    orphaned = asyncio.create_task(_parent_gone(parent))
    try:
        await asyncio.wait({stopped, orphaned}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stopped, orphaned):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _parent_gone(parent: int) -> None:
    # A dead parent's children are re-parented (to init or a subreaper): the ppid changes.
    # Polling, because no event tells a process that its parent died.
    while True:
        await asyncio.sleep(_PARENT_POLL_S)
        if os.getppid() != parent:
            return
