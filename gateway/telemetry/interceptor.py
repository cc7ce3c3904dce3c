"""RED metrics per RPC (the gRPC instrumentation records no metrics of its own)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc

from gateway.rpc_handlers import around_each_call
from gateway.telemetry.metrics import GatewayMetrics


def _status(context: Any, exc: BaseException | None) -> str:
    if exc is None:
        return "OK"
    if isinstance(exc, asyncio.CancelledError):
        return "CANCELLED"
    code = context.code() if hasattr(context, "code") else None
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN"


class MetricsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    def _record(self, method: str, started: float, status: str) -> None:
        attributes = {"rpc.method": method, "rpc.grpc.status_code": status}
        self._metrics.rpc_requests.add(1, attributes)
        self._metrics.rpc_duration.record((time.perf_counter() - started) * 1000, attributes)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith("/grpc."):
            return handler  # health and reflection are not the service's traffic
        record = self._record

        @asynccontextmanager
        async def measured(request: Any, context: Any) -> AsyncIterator[None]:
            started, error = time.perf_counter(), None
            try:
                yield
            except BaseException as exc:
                error = exc
                raise
            finally:
                record(method, started, _status(context, error))

        return around_each_call(handler, measured)
