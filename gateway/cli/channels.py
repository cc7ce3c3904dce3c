"""Opening the CLI's gRPC channel to a gateway: plaintext by default, TLS or mutual TLS on
request (`--tls-ca`, plus `--tls-cert`/`--tls-key` for a client certificate)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from gateway.cli.credentials import PartnerTokens, bearer_interceptors

__all__ = ["ClientTls", "client_tls", "open_channel"]


@dataclass(frozen=True)
class ClientTls:
    """How the CLI proves and checks identities over TLS. Unset fields: the system's roots,
    no client certificate."""

    ca_file: Path | None = None
    """PEM roots that sign the gateway's certificate."""
    cert_file: Path | None = None
    """PEM client certificate chain (mutual TLS)."""
    key_file: Path | None = None
    """PEM private key of the client certificate."""

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_file),
            private_key=_read(self.key_file),
            certificate_chain=_read(self.cert_file),
        )


def client_tls(
    ca_file: Path | None, cert_file: Path | None, key_file: Path | None
) -> ClientTls | None:
    """TLS options from the command line; None (plaintext) when none is given. A client
    certificate needs its key, and the other way round."""
    if (cert_file is None) != (key_file is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if ca_file is None and cert_file is None:
        return None
    return ClientTls(ca_file=ca_file, cert_file=cert_file, key_file=key_file)


def open_channel(
    target: str, tls: ClientTls | None = None, *, tokens: PartnerTokens | None = None
) -> grpc.aio.Channel:
    """An async channel to `target`: TLS when `tls` is given, else plaintext. When the gateway
    requires tokens, every call carries the acting partner's, from `tokens` or else the ones
    the command is using (`gateway.cli.credentials`)."""
    interceptors = bearer_interceptors(tokens) or None
    if tls is None:
        return grpc.aio.insecure_channel(target, interceptors=interceptors)
    return grpc.aio.secure_channel(target, tls.credentials(), interceptors=interceptors)


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None
