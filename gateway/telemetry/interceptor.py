"""RED metrics per RPC (the gRPC instrumentation records no metrics of its own)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

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
        if handler.unary_unary is not None:
            inner_unary: Any = handler.unary_unary

            async def unary(request: Any, context: Any) -> Any:
                started, error = time.perf_counter(), None
                try:
                    return await inner_unary(request, context)
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    record(method, started, _status(context, error))

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream is not None:
            inner_stream: Any = handler.unary_stream

            async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
                started, error = time.perf_counter(), None
                try:
                    async for response in inner_stream(request, context):
                        yield response
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    record(method, started, _status(context, error))

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler
