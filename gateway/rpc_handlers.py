"""Re-wrapping gRPC method handlers, shared by the server interceptors.

An interceptor says what happens around one call as an async context manager over
`(request, context)`; `around_each_call` applies it to unary and server-streaming handlers
alike (the only shapes the contract has) and leaves any other handler as it is.
`with_request_deserializer` swaps how a handler of any shape parses its requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc

Ctx = grpc.aio.ServicerContext[Any, Any]
Around = Callable[[Any, Ctx], AbstractAsyncContextManager[None]]
Deserializer = Callable[[bytes], Any]

_FACTORIES: dict[tuple[bool, bool], Callable[..., Any]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def behavior_of(handler: Any) -> Any:
    """The one behaviour (unary_unary, unary_stream, …) a method handler carries."""
    return (
        handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream
    )


def with_request_deserializer(
    handler: Any, deserializer: Deserializer | None, behavior: Any = None
) -> Any:
    """`handler`, of whatever shape, parsing its requests with `deserializer` (and running
    `behavior` instead of its own, when given)."""
    factory = _FACTORIES[(bool(handler.request_streaming), bool(handler.response_streaming))]
    return factory(
        behavior or behavior_of(handler),
        request_deserializer=deserializer,
        response_serializer=handler.response_serializer,
    )


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
