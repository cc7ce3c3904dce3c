"""The server interceptor that lets only authenticated, entitled callers reach a handler.

Every RPC but health and reflection needs `authorization: Bearer <access token>`. The token is
validated (`TokenValidator`); its caller must be a registered partner and hold the RPC's scope
(`gateway.auth._scopes`); a customer-session token may call only the RPCs a customer makes in a
browser (`SESSION_RPCS`), others are PERMISSION_DENIED / PARTNER_ONLY. Otherwise the call ends
UNAUTHENTICATED or PERMISSION_DENIED with an ErrorInfo reason, and the handler never runs.
Accepted, the caller is set for the handler (`gateway.callers.current_caller()`). It sits after
telemetry and metrics, so refusals are traced and counted, and it renders its own refusals, as it
sits before the error translation.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from typing import Any

import grpc
from grpc_status import rpc_status

from gateway.auth._scopes import is_exempt, scope_for, session_may_call
from gateway.auth._validator import TokenValidator
from gateway.callers import Caller, set_caller
from gateway.errors import (
    AuthenticationError,
    GatewayError,
    PartnerUnknownError,
    PermissionDeniedError,
    ScopeMissingError,
    TokenMissingError,
)
from gateway.interceptors import status_for
from gateway.rpc_handlers import Ctx, around_each_call

__all__ = ["AuthInterceptor"]

log = logging.getLogger(__name__)


class PartnerOnlyError(PermissionDeniedError):
    """A customer-session token called an RPC only the partner's own systems may call."""

    reason = "PARTNER_ONLY"


def bearer_token(metadata: Any) -> str:
    """The token of the call's one `authorization: Bearer` entry (`metadata` as gRPC gives it:
    key-value pairs), else an AuthenticationError."""
    values = [value for key, value in metadata or () if key.lower() == "authorization"]
    if not values:
        raise TokenMissingError("this call needs an 'authorization: Bearer' access token")
    if len(values) > 1:
        raise AuthenticationError("the call carries more than one authorization entry")
    value = values[0]
    scheme, _, token = value.partition(" ") if isinstance(value, str) else ("", "", "")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("expected 'authorization: Bearer <access token>'")
    return token


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, validator: TokenValidator, partner_ids: Collection[str]) -> None:
        self._validator = validator
        self._partners = frozenset(partner_ids)

    async def authenticate(self, method: str, context: Ctx) -> Caller:
        """The caller of `method`, if it may call it; else the GatewayError saying why."""
        caller = await self._validator.validate(bearer_token(context.invocation_metadata()))
        if caller.partner_id not in self._partners:
            raise PartnerUnknownError(
                "the token's client is not a registered partner", {"client_id": caller.partner_id}
            )
        if caller.session is not None and not session_may_call(method):
            raise PartnerOnlyError(
                "a customer-session token cannot make this call", {"method": method}
            )
        scope = scope_for(method)
        if scope is None:
            raise ScopeMissingError("no scope grants this method", {"method": method})
        if scope not in caller.scopes:
            raise ScopeMissingError(f"this call needs the scope {scope}", {"scope": scope})
        return caller

    async def _admit(self, method: str, context: Ctx) -> bool:
        """Sets the caller and says True, or ends the call with the refusal and says False."""
        try:
            set_caller(await self.authenticate(method, context))
            return True
        except GatewayError as error:
            log.info("refused %s: %s (%s)", method, error.reason, error.message)
            refusal = error
        except Exception:
            log.exception("authentication of %s failed unexpectedly", method)
            refusal = GatewayError("internal error while authenticating the call")
        status = rpc_status.to_status(status_for(refusal))
        await context.abort(status.code, status.details, status.trailing_metadata)
        return False  # unreachable: abort raises

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or is_exempt(method):
            return handler
        if handler.unary_unary is None and handler.unary_stream is None:
            # No such RPC of ours takes a request stream; refuse rather than let one through.
            return _refusing(handler)
        admit = self._admit

        @asynccontextmanager
        async def authenticated(request: Any, context: Ctx) -> AsyncIterator[None]:
            await admit(method, context)  # ends the call (abort raises) when refused
            yield

        return around_each_call(handler, authenticated)


def _refusing(handler: Any) -> Any:
    async def refuse(request: Any, context: Ctx) -> Any:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "streaming requests are not served")

    async def refuse_stream(request: Any, context: Ctx) -> AsyncIterator[Any]:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "streaming requests are not served")
        yield None  # pragma: no cover - abort raises

    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            refuse,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.stream_stream_rpc_method_handler(
        refuse_stream,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
