"""Requests that are not the protobuf message their method takes: refused, never crashed on.

grpc parses a request before any interceptor or handler code runs. Left alone, a parse error
ends the call UNKNOWN with the parser's own words (naming the message type) and logs a full
traceback: four bytes from anyone, before authentication, buy about a kilobyte of log.

`MalformedRequestInterceptor` gives every method a deserializer that turns a parse error into
the `MALFORMED` marker, and ends a call whose request (or any message of a request stream) is
that marker with `MalformedRequestError` — INVALID_ARGUMENT, ErrorInfo reason
`MALFORMED_REQUEST`, a short message — before authentication. It logs no traceback, and at
most one line per method per interval (`ThrottledLog`), which counts the ones held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

import grpc
from grpc_status import rpc_status

from gateway.errors import MalformedRequestError
from gateway.interceptors import status_for
from gateway.rpc_handlers import (
    Ctx,
    Deserializer,
    around_each_call,
    behavior_of,
    with_request_deserializer,
)

__all__ = [
    "MALFORMED",
    "MalformedRequestInterceptor",
    "ThrottledLog",
    "tolerant",
]

log = logging.getLogger(__name__)

#: Seconds between two log lines about malformed requests to the same method.
DEFAULT_LOG_INTERVAL_S = 60.0


class _Malformed:
    def __repr__(self) -> str:
        return "MALFORMED"


MALFORMED: Final = _Malformed()
"""What a tolerant deserializer returns for bytes it cannot parse."""


def tolerant(deserializer: Deserializer | None) -> Deserializer | None:
    """`deserializer`, returning `MALFORMED` instead of raising on bytes it cannot parse."""
    if deserializer is None:
        return None  # the handler takes raw bytes: there is nothing to parse
    parse = deserializer

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        # Whatever a parser raises on bytes from the network (DecodeError, or RecursionError
        # for deep nesting in the pure-Python protobuf), the bytes are the caller's mistake.
        except Exception:
            return MALFORMED

    return deserialize


class ThrottledLog:
    """At most one warning per key every `interval_s`; the next one says how many were held
    back. Keys must come from a bounded set (here: the server's registered methods)."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = DEFAULT_LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, key: str, text: str) -> None:
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return
        self._last[key] = now
        held = self._held.pop(key, 0)
        self._logger.warning("%s: %s (%d more since the last report)", key, text, held)


# The same answer for every malformed call, built once: garbage should cost little to refuse.
_REFUSAL = rpc_status.to_status(
    status_for(MalformedRequestError("the request is not a valid message for this method"))
)


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Parses requests tolerantly and refuses malformed ones; see the module docstring.

    Outside the authentication, so a malformed call is refused the same with or without a
    token; inside telemetry and metrics, so it is traced and counted as INVALID_ARGUMENT."""

    def __init__(self, reports: ThrottledLog | None = None) -> None:
        self._reports = reports or ThrottledLog(log)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method or ""
        reports = self._reports

        async def refuse(context: Ctx) -> None:
            reports.warning(method, "refused a request that is not a valid message")
            await context.abort(_REFUSAL.code, _REFUSAL.details, _REFUSAL.trailing_metadata)

        deserializer = tolerant(handler.request_deserializer)
        if not handler.request_streaming:

            @asynccontextmanager
            async def parsed(request: Any, context: Ctx) -> AsyncIterator[None]:
                if request is MALFORMED:
                    await refuse(context)  # abort raises: the handler never runs
                yield

            return around_each_call(with_request_deserializer(handler, deserializer), parsed)
        checking = _checking_stream(behavior_of(handler), handler.response_streaming, refuse)
        return with_request_deserializer(handler, deserializer, checking)


def _checking_stream(
    behavior: Any, response_streaming: bool, refuse: Callable[[Ctx], Awaitable[None]]
) -> Any:
    """`behavior` (taking a request stream) seeing the stream end the call at its first
    malformed message. No RPC of the contract streams requests; reflection does."""

    async def checked(requests: AsyncIterator[Any], context: Ctx) -> AsyncIterator[Any]:
        async for request in requests:
            if request is MALFORMED:
                await refuse(context)
            yield request

    if not response_streaming:

        async def once(requests: AsyncIterator[Any], context: Ctx) -> Any:
            return await behavior(checked(requests, context), context)

        return once

    async def streaming(requests: AsyncIterator[Any], context: Ctx) -> AsyncIterator[Any]:
        answer = behavior(checked(requests, context), context)
        if hasattr(answer, "__aiter__"):
            async for response in answer:
                yield response
        else:  # a coroutine writing its responses with `context.write`
            await answer

    return streaming
