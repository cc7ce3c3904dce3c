"""What can go wrong on the client's side before a call reaches the gateway: no token can be
had for the partner a call acts for. Each message says what to fix."""

from __future__ import annotations

__all__ = ["ClientError", "IssuerUnreachable", "NoActingPartner"]


class ClientError(Exception):
    """A problem of the client's own set-up (credentials, issuer); its message says how to fix
    it. Errors of the gateway itself arrive as `grpc.aio.AioRpcError`."""


class IssuerUnreachable(ClientError):
    """The token endpoint did not answer. The embedded issuer runs inside the gateway, so this
    usually means no gateway runs at all; a caller that can tell (the CLI) checks before
    saying which."""


class NoActingPartner(ClientError):
    """The gateway requires tokens, and neither the request nor the client names the partner
    the call acts for."""
