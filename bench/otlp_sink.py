"""A stand-in OpenTelemetry collector: accepts OTLP/gRPC exports and throws them away.

    .venv/bin/python -m bench.otlp_sink

Prints one JSON line, `{"endpoint": "http://127.0.0.1:PORT"}`, then serves until SIGTERM,
SIGINT or its standard input closes, and prints a last line with the number of exports and
bytes it took. Requests are never decoded (raw bytes in, an empty `Export*ServiceResponse`
out), so the sink costs next to nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

import grpc

_SERVICES = (
    "opentelemetry.proto.collector.trace.v1.TraceService",
    "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "opentelemetry.proto.collector.logs.v1.LogsService",
)


async def serve() -> dict[str, int]:
    counts = {"exports": 0, "bytes": 0}

    async def export(request: bytes, context: Any) -> bytes:
        counts["exports"] += 1
        counts["bytes"] += len(request)
        return b""  # an empty Export*ServiceResponse: everything accepted

    handler = grpc.unary_unary_rpc_method_handler(export)  # no (de)serializers: raw bytes
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        tuple(grpc.method_handlers_generic_handler(s, {"Export": handler}) for s in _SERVICES)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(json.dumps({"endpoint": f"http://127.0.0.1:{port}"}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(0, 1) else None)
    await stop.wait()
    loop.remove_reader(sys.stdin.fileno())
    await server.stop(0)
    return counts


def main() -> None:
    print(json.dumps(asyncio.run(serve())), flush=True)


if __name__ == "__main__":
    main()
