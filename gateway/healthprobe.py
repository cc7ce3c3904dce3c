"""`python -m gateway.healthprobe`: exit 0 only when the gateway answers SERVING.

A container health check written in Python, so images need no downloaded probe binary:
it calls `grpc.health.v1.Health/Check` once and maps the answer to an exit code.

    python -m gateway.healthprobe [--address HOST:PORT] [--service NAME] [--timeout S]

Exit 0: SERVING. Exit 1: any other status, an error (NOT_FOUND for an unknown service), or no
answer within the timeout. Exit 2: bad arguments. The default address is the port of
`PSG_SERVER__ADDRESS` on loopback (a wildcard host means "this machine"), else 127.0.0.1:50051.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["check", "default_address", "main"]

DEFAULT_ADDRESS = "127.0.0.1:50051"
_WILDCARD_HOSTS = {"", "0.0.0.0", "[::]", "::"}


def default_address(environ: Mapping[str, str]) -> str:
    """Where the gateway in this container listens, as a connectable address."""
    configured = environ.get("PSG_SERVER__ADDRESS")
    if not configured:
        return DEFAULT_ADDRESS
    host, _, port = configured.rpartition(":")
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    return f"{host}:{port}"


def check(address: str, service: str = "", timeout_s: float = 2.0) -> str:
    """The serving status name (`SERVING`, `NOT_SERVING`, …); raises `grpc.RpcError`."""
    # A probe talks to its own container: never through an HTTP proxy from the environment.
    options = [("grpc.enable_http_proxy", 0)]
    with grpc.insecure_channel(address, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=service)
        response = stub.Check(request, timeout=timeout_s)
    name: str = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return name


def _arguments(argv: Sequence[str] | None, environ: Mapping[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.healthprobe",
        description="Exit 0 only when the gateway's gRPC health service answers SERVING.",
    )
    parser.add_argument(
        "--address",
        default=default_address(environ),
        help="gateway host:port (default: from PSG_SERVER__ADDRESS, else %(default)s)",
    )
    parser.add_argument(
        "--service", default="", help="service name to check (default: the whole server)"
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds (default: 2)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    arguments = _arguments(argv, os.environ if environ is None else environ)
    try:
        status = check(arguments.address, arguments.service, arguments.timeout)
    except grpc.RpcError as exc:
        code = exc.code().name if isinstance(exc, grpc.Call) else "ERROR"
        details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
        print(f"{arguments.address}: {code}: {details}", file=sys.stderr)
        return 1
    print(f"{arguments.address}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
