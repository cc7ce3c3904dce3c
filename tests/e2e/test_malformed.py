"""Bytes that are no protobuf message, sent through real gRPC to every RPC: refused as
INVALID_ARGUMENT with a short google.rpc.Status, with or without a token, and never paid for
with a traceback in the gateway's log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from google.protobuf import descriptor
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from gateway.client.credentials import PartnerTokens
from gateway.errors import ERROR_DOMAIN
from gateway.runtime import RunningGateway
from partnergateway.v1 import (
    consent_service_pb2,
    feedback_service_pb2,
    order_service_pb2,
    solution_service_pb2,
)
from tests.support import DEFAULT_PARTNER, bearer, error_info, rich_status

GARBAGE = b"\xff\xff\xff\xff"
Metadata = tuple[tuple[str, str], ...]


def _methods(*files: descriptor.FileDescriptor) -> Iterator[descriptor.MethodDescriptor]:
    for file in files:
        for service in file.services_by_name.values():
            yield from service.methods


GATEWAY_METHODS = list(
    _methods(
        solution_service_pb2.DESCRIPTOR,
        order_service_pb2.DESCRIPTOR,
        feedback_service_pb2.DESCRIPTOR,
        consent_service_pb2.DESCRIPTOR,
    )
)
# Health and reflection need no token: the cheapest way in for anyone.
OPEN_METHODS = list(_methods(health_pb2.DESCRIPTOR, reflection_pb2.DESCRIPTOR))


def _path(method: descriptor.MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def _same(data: bytes) -> bytes:
    return data


async def _call_raw(
    channel: grpc.aio.Channel,
    method: descriptor.MethodDescriptor,
    data: bytes,
    metadata: Metadata,
) -> None:
    """Sends `data` as the request of `method`, unparsed, and reads every answer."""
    path, raw = _path(method), {"request_serializer": _same, "response_deserializer": _same}
    if method.client_streaming:
        stream = channel.stream_stream(path, **raw)(iter([data]), metadata=metadata, timeout=5)
        async for _ in stream:
            pass
    elif method.server_streaming:
        async for _ in channel.unary_stream(path, **raw)(data, metadata=metadata, timeout=5):
            pass
    else:
        await channel.unary_unary(path, **raw)(data, metadata=metadata, timeout=5)


async def _send_raw(
    channel: grpc.aio.Channel,
    method: descriptor.MethodDescriptor,
    data: bytes,
    metadata: Metadata,
) -> grpc.aio.AioRpcError:
    """The error the call of `method` with `data` ends with."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call_raw(channel, method, data, metadata)
    return caught.value


def assert_refused_as_malformed(error: grpc.aio.AioRpcError) -> None:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    details = error.details() or ""
    assert len(details) < 80, details
    for leak in ("DecodeError", "Error parsing", "partnergateway", "grpc.", "Request"):
        assert leak not in details, details
    info = error_info(rich_status(error))
    assert (info.domain, info.reason) == (ERROR_DOMAIN, "MALFORMED_REQUEST")


@pytest.fixture
async def raw_channel(gateway: RunningGateway) -> AsyncIterator[grpc.aio.Channel]:
    """A channel that adds no token of its own."""
    async with grpc.aio.insecure_channel(gateway.target) as channel:
        yield channel


@pytest.mark.parametrize("method", GATEWAY_METHODS + OPEN_METHODS, ids=_path)
@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "token"])
async def test_garbage_is_refused_as_malformed_on_every_rpc(
    raw_channel: grpc.aio.Channel,
    tokens: PartnerTokens,
    method: descriptor.MethodDescriptor,
    with_token: bool,
) -> None:
    metadata = bearer(await tokens.token(DEFAULT_PARTNER)) if with_token else ()

    error = await _send_raw(raw_channel, method, GARBAGE, metadata)

    assert_refused_as_malformed(error)


def test_every_gateway_rpc_is_covered() -> None:
    # Guards the descriptor walk above: an empty list would make the test pass vacuously.
    assert {"ComposeSolution", "StreamSolution", "WatchOrder", "WithdrawConsent"} <= {
        m.name for m in GATEWAY_METHODS
    }


async def test_a_flood_of_garbage_writes_a_line_or_two_and_no_traceback(
    raw_channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    method = solution_service_pb2.DESCRIPTOR.services_by_name["SolutionService"].methods_by_name[
        "GetSolution"
    ]
    with caplog.at_level(logging.INFO):
        for _ in range(50):
            assert_refused_as_malformed(await _send_raw(raw_channel, method, GARBAGE, ()))

    about_it = [
        r
        for r in caplog.records
        if r.exc_info is not None
        or "DecodeError" in r.getMessage()
        or _path(method) in r.getMessage()
    ]
    assert len(about_it) <= 2, [r.getMessage()[:200] for r in about_it]
    assert all(r.exc_info is None for r in about_it)
