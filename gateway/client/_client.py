"""`GatewayClient`: the gateway's services over one channel per partner acted as, each call with
that partner's token — chosen explicitly (`for_partner`), never by ambient state."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

import grpc

from gateway.client.channels import ClientTls, open_channel
from gateway.client.credentials import PartnerTokens
from partnergateway.v1 import (
    consent_service_pb2_grpc,
    feedback_service_pb2_grpc,
    order_service_pb2_grpc,
    solution_service_pb2_grpc,
)

if TYPE_CHECKING:
    # Only the type stubs know the async flavours; at run time they are the same stub classes.
    from partnergateway.v1.consent_service_pb2_grpc import ConsentServiceAsyncStub
    from partnergateway.v1.feedback_service_pb2_grpc import FeedbackServiceAsyncStub
    from partnergateway.v1.order_service_pb2_grpc import OrderServiceAsyncStub
    from partnergateway.v1.solution_service_pb2_grpc import SolutionServiceAsyncStub

__all__ = ["GatewayClient"]


class _Channels:
    """The channels of one client and its partner views, opened on first use: one per partner
    when calls carry tokens (a channel's interceptors know one default partner), else one."""

    def __init__(self, target: str, tls: ClientTls | None) -> None:
        self.target = target
        self.tls = tls
        self._open: dict[str | None, grpc.aio.Channel] = {}

    def channel(self, tokens: PartnerTokens) -> grpc.aio.Channel:
        key = tokens.default_partner if tokens.required else None
        channel = self._open.get(key)
        if channel is None:
            channel = self._open[key] = open_channel(self.target, self.tls, tokens=tokens)
        return channel

    async def aclose(self) -> None:
        channels, self._open = list(self._open.values()), {}
        for channel in channels:
            await channel.close(None)


class GatewayClient:
    """Calls to one gateway. A call acts for the partner its request names, else for this
    client's partner (`tokens.default_partner`); `for_partner` gives a client acting for
    another, sharing channels and cached tokens with this one.

    Channels open on first use (inside the event loop) and close with `aclose()` or at the
    end of `async with`, for this client and every view made from it.
    """

    def __init__(
        self, target: str, *, tls: ClientTls | None = None, tokens: PartnerTokens | None = None
    ) -> None:
        self._channels = _Channels(target, tls)
        self.tokens = tokens or PartnerTokens(required=False)

    @property
    def target(self) -> str:
        return self._channels.target

    @property
    def partner(self) -> str | None:
        """Whom calls whose request names no partner act for."""
        return self.tokens.default_partner

    def for_partner(self, partner_id: str) -> GatewayClient:
        """The same gateway, acting for `partner_id` when a request names no partner."""
        view = GatewayClient.__new__(GatewayClient)
        view._channels = self._channels
        view.tokens = self.tokens.for_partner(partner_id)
        return view

    @property
    def channel(self) -> grpc.aio.Channel:
        """The channel whose calls act for `partner` (for stubs this client does not offer)."""
        return self._channels.channel(self.tokens)

    @property
    def solutions(self) -> SolutionServiceAsyncStub:
        return solution_service_pb2_grpc.SolutionServiceStub(self.channel)

    @property
    def orders(self) -> OrderServiceAsyncStub:
        return order_service_pb2_grpc.OrderServiceStub(self.channel)

    @property
    def feedback(self) -> FeedbackServiceAsyncStub:
        return feedback_service_pb2_grpc.FeedbackServiceStub(self.channel)

    @property
    def consents(self) -> ConsentServiceAsyncStub:
        return consent_service_pb2_grpc.ConsentServiceStub(self.channel)

    async def aclose(self) -> None:
        await self._channels.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
