"""`python -m gateway.healthprobe`: exit 0 only when the gateway answers SERVING.

A container health check written in Python, so images need no downloaded probe binary:
it calls `grpc.health.v1.Health/Check` once and maps the answer to an exit code.

    python -m gateway.healthprobe [--address HOST:PORT] [--service NAME] [--timeout S]
        [--tls-ca FILE [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME]]

Exit 0: SERVING. Exit 1: any other status, an error (NOT_FOUND for an unknown service), or no
answer within the timeout. Exit 2: bad arguments. The default address is the port of
`PSG_SERVER__ADDRESS` on loopback (a wildcard host means "this machine"), else 127.0.0.1:50051.
Against a TLS listener give `--tls-ca` (and a client certificate when it asks for mutual TLS);
`--tls-server-name` is the name in the server's certificate when it is not the address's host.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["ProbeTls", "check", "default_address", "main"]

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


@dataclass(frozen=True)
class ProbeTls:
    """TLS towards the gateway: its CA, a client certificate for mutual TLS, and the name
    its certificate carries when that is not the address's host."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_file.read_bytes(),
            private_key=self.key_file.read_bytes() if self.key_file else None,
            certificate_chain=self.cert_file.read_bytes() if self.cert_file else None,
        )


def _channel(address: str, tls: ProbeTls | None) -> grpc.Channel:
    # A probe talks to its own container: never through an HTTP proxy from the environment.
    options: list[tuple[str, str | int]] = [("grpc.enable_http_proxy", 0)]
    if tls is None:
        return grpc.insecure_channel(address, options=options)
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    return grpc.secure_channel(address, tls.credentials(), options=options)


def check(
    address: str, service: str = "", timeout_s: float = 2.0, tls: ProbeTls | None = None
) -> str:
    """The serving status name (`SERVING`, `NOT_SERVING`, …); raises `grpc.RpcError`."""
    with _channel(address, tls) as channel:
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
    parser.add_argument("--tls-ca", type=Path, help="connect over TLS; PEM CA of the server")
    parser.add_argument("--tls-cert", type=Path, help="PEM client certificate (mutual TLS)")
    parser.add_argument("--tls-key", type=Path, help="PEM key of --tls-cert")
    parser.add_argument("--tls-server-name", help="name in the server's certificate")
    arguments = parser.parse_args(argv)
    if (arguments.tls_cert is None) != (arguments.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if arguments.tls_ca is None and (arguments.tls_cert or arguments.tls_server_name):
        parser.error("--tls-cert, --tls-key and --tls-server-name need --tls-ca")
    return arguments


def _tls(arguments: argparse.Namespace) -> ProbeTls | None:
    if arguments.tls_ca is None:
        return None
    return ProbeTls(
        arguments.tls_ca, arguments.tls_cert, arguments.tls_key, arguments.tls_server_name
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    arguments = _arguments(argv, os.environ if environ is None else environ)
    try:
        status = check(arguments.address, arguments.service, arguments.timeout, _tls(arguments))
    except OSError as exc:  # an unreadable certificate or key file
        print(f"{arguments.address}: {exc}", file=sys.stderr)
        return 1
    except grpc.RpcError as exc:
        code = exc.code().name if isinstance(exc, grpc.Call) else "ERROR"
        details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
        print(f"{arguments.address}: {code}: {details}", file=sys.stderr)
        return 1
    print(f"{arguments.address}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
