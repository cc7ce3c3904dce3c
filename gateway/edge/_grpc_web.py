"""A minimal gRPC-Web client over plain HTTP/1.1 — what a browser library such as grpc-web or
connect-web sends: length-prefixed frames, trailers in a final frame flagged 0x80.

Written from the protocol (gRPC's PROTOCOL-WEB.md), so the tests check Envoy's grpc_web filter
against the protocol rather than against a client of the same make; the latency benchmark
(`bench/edge_latency.py`) uses it too."""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx2
from google.protobuf import message as pb_message
from google.rpc import status_pb2

__all__ = ["GrpcWebReply", "grpc_web_call"]

_TRAILER_FLAG = 0x80
_HEADER = struct.Struct(">BI")


def _frame(request: pb_message.Message) -> bytes:
    data = request.SerializeToString()
    return _HEADER.pack(0, len(data)) + data


@dataclass
class GrpcWebReply:
    messages: list[bytes] = field(default_factory=list)
    arrived_s: list[float] = field(default_factory=list)
    """Seconds after the request when each message's frame was complete."""
    trailers: dict[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    http_status: int = 0

    @property
    def grpc_status(self) -> int:
        # A trailers-only answer (an error before any message) carries them as headers.
        value = self.trailers.get("grpc-status") or self.headers.get("grpc-status")
        return int(value) if value is not None else -1

    def status(self) -> status_pb2.Status:
        raw = self.trailers.get("grpc-status-details-bin") or self.headers.get(
            "grpc-status-details-bin", ""
        )
        return status_pb2.Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))


def _trailers(block: bytes) -> dict[str, str]:
    trailers = {}
    for line in block.decode("ascii").split("\r\n"):
        if line:
            name, _, value = line.partition(":")
            trailers[name.strip().lower()] = value.strip()
    return trailers


async def grpc_web_call(
    http: httpx2.AsyncClient,
    base_url: str,
    method: str,
    request: pb_message.Message,
    *,
    token: str | None = None,
    origin: str | None = None,
    timeout_s: float = 30.0,
) -> GrpcWebReply:
    """One gRPC-Web call of `method` ("/package.Service/Method"), unary or server streaming;
    frames are read as they arrive."""
    headers = {
        "content-type": "application/grpc-web+proto",
        "accept": "application/grpc-web+proto",
        "x-grpc-web": "1",
        "grpc-timeout": f"{int(timeout_s * 1000)}m",
    }
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    if origin is not None:
        headers["origin"] = origin
    reply = GrpcWebReply()
    started = time.monotonic()
    async with http.stream(
        "POST", f"{base_url}{method}", content=_frame(request), headers=headers, timeout=timeout_s
    ) as response:
        reply.http_status = response.status_code
        reply.headers = {k.lower(): v for k, v in response.headers.items()}
        buffer = b""
        async for chunk in response.aiter_bytes():
            buffer += chunk
            while len(buffer) >= _HEADER.size:
                flags, length = _HEADER.unpack_from(buffer)
                if len(buffer) < _HEADER.size + length:
                    break
                payload = buffer[_HEADER.size : _HEADER.size + length]
                buffer = buffer[_HEADER.size + length :]
                if flags & _TRAILER_FLAG:
                    reply.trailers.update(_trailers(payload))
                else:
                    reply.messages.append(payload)
                    reply.arrived_s.append(time.monotonic() - started)
        if buffer:
            raise ValueError(f"a truncated gRPC-Web frame ({len(buffer)} bytes left)")
    return reply
