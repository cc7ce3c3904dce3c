"""Per-partner rate limits: a token bucket per calling partner, enforced by an interceptor.

Each registered partner has its own bucket (`burst` tokens, refilled at `requests_per_s`);
calls that name no registered partner share one bucket, so made-up partner ids cannot
create buckets without bound. Over the limit, a call fails with `RateLimitedError`
(RESOURCE_EXHAUSTED with a RetryInfo: the wait until a token is available) before its
handler runs. Only the gateway's own services are limited, never health or reflection.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from gateway.callers import caller_of
from gateway.errors import RateLimitedError
from gateway.rpc_handlers import Ctx, around_each_call

__all__ = ["LIMITED_METHOD_PREFIX", "RateLimitInterceptor", "RateLimiter", "TokenBucket"]

LIMITED_METHOD_PREFIX = "/partnergateway."
"""Methods of the gateway's own services; health and reflection live elsewhere."""

UNIDENTIFIED = ""


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled continuously at `rate` per second."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Takes one token: 0.0 if there was one, else the seconds until there is."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One bucket per registered partner, one shared by every other caller."""

    def __init__(
        self,
        requests_per_s: float,
        burst: int,
        partners: Collection[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if requests_per_s <= 0 or burst < 1:
            raise ValueError("a rate limit needs requests_per_s > 0 and burst >= 1")
        self.requests_per_s = requests_per_s
        self._clock = clock
        now = clock()
        self._buckets = {
            key: TokenBucket(requests_per_s, burst, burst, now) for key in {*partners, UNIDENTIFIED}
        }

    def admit(self, caller: str | None) -> None:
        """Returns when `caller` may go on; raises `RateLimitedError` when it may not."""
        key = caller if caller in self._buckets else UNIDENTIFIED
        wait_s = self._buckets[key].take(self._clock())
        if wait_s <= 0:
            return
        retry_ms = max(1, math.ceil(wait_s * 1000))
        who = key or "callers naming no registered partner"
        raise RateLimitedError(
            f"rate limit of {self.requests_per_s:g} requests/s exceeded for {who}; "
            f"retry in {retry_ms} ms",
            retry_after_s=retry_ms / 1000,
            metadata={"caller": key or "unidentified", "retry_after_ms": str(retry_ms)},
        )


class RateLimitInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Admits each call of the gateway's services through `limiter` before its handler runs.

    Placed inside the error interceptor, which turns `RateLimitedError` into its status.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        caller: Callable[[Any, Any], str | None] = caller_of,
    ) -> None:
        self._limiter = limiter
        self._caller = caller

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method or ""
        if handler is None or not method.startswith(LIMITED_METHOD_PREFIX):
            return handler
        limiter, caller = self._limiter, self._caller

        @asynccontextmanager
        async def admitted(request: Any, context: Ctx) -> AsyncIterator[None]:
            limiter.admit(caller(request, context))
            yield

        return around_each_call(handler, admitted)
