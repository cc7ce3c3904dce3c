"""Turns `GatewayError`s (and anything unexpected) into `google.rpc.Status` answers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2, message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from gateway.errors import ERROR_DOMAIN, GatewayError, InvalidRequestError
from gateway.rpc_handlers import Ctx, around_each_call

log = logging.getLogger(__name__)

# A status travels in trailing metadata, which gRPC clients cap at 8 KiB by default; past
# that the client sees RESOURCE_EXHAUSTED and loses the status. So what any request can make
# the gateway say back is bounded: each text, and the field violations all together.
MAX_TEXT = 200
MAX_VIOLATION_BYTES = 2048


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _bad_request(error: InvalidRequestError) -> tuple[error_details_pb2.BadRequest, int]:
    """The field violations that fit the budget, and how many did not."""
    kept: list[error_details_pb2.BadRequest.FieldViolation] = []
    size = 0
    for v in error.violations:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=_bounded(v.field), description=_bounded(v.description), reason=v.reason
        )
        size += violation.ByteSize()
        if kept and size > MAX_VIOLATION_BYTES:
            break
        kept.append(violation)
    return error_details_pb2.BadRequest(field_violations=kept), len(error.violations) - len(kept)


def status_for(error: GatewayError) -> status_pb2.Status:
    """One ErrorInfo, plus BadRequest for field violations, LocalizedMessage when the caller's
    language is known, and RetryInfo when a retry helps."""
    metadata = {key: _bounded(value) for key, value in error.metadata.items()}
    bad_request = None
    if isinstance(error, InvalidRequestError):
        bad_request, omitted = _bad_request(error)
        if omitted:
            metadata["violations_omitted"] = str(omitted)
    details: list[message.Message] = [
        error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=metadata)
    ]
    if bad_request is not None:
        details.append(bad_request)
    if error.localized is not None:
        details.append(
            error_details_pb2.LocalizedMessage(
                locale=error.localized.locale, message=_bounded(error.localized.message)
            )
        )
    if error.retry_after_s is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(error.retry_after_s * 1000))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return status_pb2.Status(
        code=error.code.value[0], message=_bounded(error.message), details=packed
    )


def _internal(exc: BaseException) -> status_pb2.Status:
    incident = uuid.uuid4().hex[:12]
    log.error("unexpected error (incident %s)", incident, exc_info=exc)
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(
            reason="INTERNAL", domain=ERROR_DOMAIN, metadata={"incident": incident}
        )
    )
    return status_pb2.Status(
        code=code_pb2.INTERNAL, message=f"internal error (incident {incident})", details=[info]
    )


async def _abort(context: grpc.aio.ServicerContext[Any, Any], status: status_pb2.Status) -> None:
    converted = rpc_status.to_status(status)
    await context.abort(converted.code, converted.details, converted.trailing_metadata)


def _translate(exc: Exception) -> status_pb2.Status | None:
    if isinstance(exc, GatewayError):
        return status_for(exc)
    if isinstance(exc, grpc.aio.AbortError):
        return None  # the handler aborted on purpose: let it through
    return _internal(exc)


@asynccontextmanager
async def _translating(request: Any, context: Ctx) -> AsyncIterator[None]:
    try:
        yield
    except Exception as exc:  # CancelledError is a BaseException: it passes untouched
        status = _translate(exc)
        if status is None:
            raise
        await _abort(context, status)
        raise  # unreachable: abort raises


class ErrorInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps every unary and server-streaming handler with error translation."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return around_each_call(handler, _translating)
