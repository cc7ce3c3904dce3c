"""Telling "no gateway there" apart from every other failure, so the command line can say so
in one line (the client's own errors are `gateway.client.ClientError`)."""

from __future__ import annotations

import socket

__all__ = ["gateway_listening", "no_gateway_message"]

# A refused connection answers at once; a filtered or distant port should not stall a person.
_PROBE_TIMEOUT_S = 1.0


def gateway_listening(target: str) -> bool | None:
    """Whether something accepts TCP connections at `target` (`host:port`); None when the
    target is not of that form (a `dns:///` or `unix:` name), so nothing is claimed."""
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host or "/" in host:
        return None
    host = host.removeprefix("[").removesuffix("]")
    try:
        with socket.create_connection((host, int(port)), timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def no_gateway_message(target: str) -> str:
    return f"no gateway at {target} — start it with `partner-gateway serve --sandbox`"
