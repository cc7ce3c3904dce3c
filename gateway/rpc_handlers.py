"""Re-wrapping gRPC method handlers, shared by the server interceptors.

An interceptor says what happens around one call as an async context manager over
`(request, context)`; `around_each_call` applies it to unary and server-streaming handlers
alike (the only shapes the contract has) and leaves any other handler as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc

Ctx = grpc.aio.ServicerContext[Any, Any]
Around = Callable[[Any, Ctx], AbstractAsyncContextManager[None]]


def around_each_call(handler: Any, around: Around) -> Any:
    """`handler` with every call run inside `around(request, context)`.

    grpc-stubs types handlers as synchronous; under grpc.aio they are coroutines and async
    generators, hence Any.
    """
    if handler.unary_unary is not None:
        inner_unary: Any = handler.unary_unary

        async def unary(request: Any, context: Ctx) -> Any:
            async with around(request, context):
                return await inner_unary(request, context)
            return None  # reached only when `around` swallowed the handler's exception

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        inner_stream: Any = handler.unary_stream

        async def stream(request: Any, context: Ctx) -> AsyncIterator[Any]:
            async with around(request, context):
                async for response in inner_stream(request, context):
                    yield response

        return grpc.unary_stream_rpc_method_handler(
            stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler
