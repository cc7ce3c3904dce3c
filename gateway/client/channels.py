"""Opening a gRPC channel to a gateway: plaintext by default, TLS or mutual TLS on request, with
the acting partner's token on every call when the gateway requires tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from gateway.client.credentials import PartnerTokens, bearer_interceptors

__all__ = ["ClientTls", "open_channel"]


@dataclass(frozen=True)
class ClientTls:
    """How a client proves and checks identities over TLS. Unset fields: the system's roots,
    no client certificate."""

    ca_file: Path | None = None
    """PEM roots that sign the gateway's certificate."""
    cert_file: Path | None = None
    """PEM client certificate chain (mutual TLS)."""
    key_file: Path | None = None
    """PEM private key of the client certificate."""

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("a client certificate needs its key, and a key its certificate")

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_file),
            private_key=_read(self.key_file),
            certificate_chain=_read(self.cert_file),
        )


def open_channel(
    target: str, tls: ClientTls | None = None, *, tokens: PartnerTokens | None = None
) -> grpc.aio.Channel:
    """An async channel to `target`: TLS when `tls` is given, else plaintext. With `tokens`
    (when they are required), every call carries the token of the partner it acts for
    (`gateway.client.credentials`); without, calls carry what their metadata says."""
    interceptors = bearer_interceptors(tokens) or None
    if tls is None:
        return grpc.aio.insecure_channel(target, interceptors=interceptors)
    return grpc.aio.secure_channel(target, tls.credentials(), interceptors=interceptors)


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None
