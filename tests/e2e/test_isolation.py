"""Isolation by token identity, through real gRPC with each partner's own access token.

One journey (composed and booked by telecom-cn) gives a solution, an order and a consent.
For every RPC that takes an id, any partner with no part in the object gets NOT_FOUND —
exactly what a made-up id gets — and the attempt is in the audit log; partners taking part
in the order see their own component and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.audit import last_seq
from gateway.client import GatewayClient
from gateway.runtime import RunningGateway
from partnergateway.v1 import (
    consent_service_pb2,
    consent_service_pb2_grpc,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
    order_pb2,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_pb2,
    solution_service_pb2,
    solution_service_pb2_grpc,
)
from tests.e2e.booking_support import book, compose_solution, final_order
from tests.support import Stub, error_info, rich_status

OWNER = "telecom-cn"
PARTNERS = ("telecom-cn", "airline-a", "airline-b", "insurer-a", "car-a", "car-b")


@dataclass(frozen=True)
class Journey:
    solution: solution_pb2.Solution
    order: order_pb2.Order

    @property
    def participants(self) -> set[str]:
        return {c.partner_id for c in self.order.components}


_journey: Journey | None = None


async def journey(channel: grpc.aio.Channel) -> Journey:
    """Composed and booked once per session (hypothesis calls the test many times)."""
    global _journey
    if _journey is None:
        solution = await compose_solution(channel)
        placed = await book(channel, solution, "isolation-journey")
        order = await final_order(channel, placed.order_id, OWNER)
        assert order.state == order_pb2.ORDER_STATE_CONFIRMED
        _journey = Journey(solution, order)
    return _journey


def _rpcs() -> dict[str, Callable[[str], tuple[str, message.Message]]]:
    """Each id-taking RPC: a request about the given id (a real one, or a made-up one)."""
    return {
        "GetSolution": lambda i: (
            "GetSolution",
            solution_service_pb2.GetSolutionRequest(solution_id=i),
        ),
        "BookSolution": lambda i: (
            "BookSolution",
            order_service_pb2.BookSolutionRequest(request_id="iso-book", solution_id=i),
        ),
        "GetOrder": lambda i: ("GetOrder", order_service_pb2.GetOrderRequest(order_id=i)),
        "CancelOrder": lambda i: (
            "CancelOrder",
            order_service_pb2.CancelOrderRequest(request_id="iso-cancel", order_id=i),
        ),
        "WatchOrder": lambda i: ("WatchOrder", order_service_pb2.WatchOrderRequest(order_id=i)),
        "SubmitFeedback(solution)": lambda i: (
            "SubmitFeedback",
            feedback_service_pb2.SubmitFeedbackRequest(request_id="iso-fb", solution_id=i, score=5),
        ),
        "SubmitFeedback(order)": lambda i: (
            "SubmitFeedback",
            feedback_service_pb2.SubmitFeedbackRequest(request_id="iso-fb", order_id=i, score=5),
        ),
        "GetConsent": lambda i: ("GetConsent", consent_service_pb2.GetConsentRequest(consent_id=i)),
        "WithdrawConsent": lambda i: (
            "WithdrawConsent",
            consent_service_pb2.WithdrawConsentRequest(consent_id=i),
        ),
    }


def _real_id(j: Journey, rpc: str) -> str:
    if "Solution" in rpc or rpc == "SubmitFeedback(solution)":
        return j.solution.solution_id
    if "Consent" in rpc:
        return j.solution.consent_id
    return j.order.order_id


async def _call(channel: grpc.aio.Channel, method: str, request: message.Message) -> None:
    solutions = solution_service_pb2_grpc.SolutionServiceStub(channel)
    orders = order_service_pb2_grpc.OrderServiceStub(channel)
    feedback = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
    consents = consent_service_pb2_grpc.ConsentServiceStub(channel)
    if method == "WatchOrder":
        async for _ in orders.WatchOrder(request, timeout=10):  # type: ignore[arg-type]
            pass
        return
    target = {
        "GetSolution": solutions.GetSolution,
        "BookSolution": orders.BookSolution,
        "GetOrder": orders.GetOrder,
        "CancelOrder": orders.CancelOrder,
        "SubmitFeedback": feedback.SubmitFeedback,
        "GetConsent": consents.GetConsent,
        "WithdrawConsent": consents.WithdrawConsent,
    }[method]
    await target(request, timeout=10)  # type: ignore[operator]


async def _refusal(
    client: GatewayClient, caller: str, call: tuple[str, message.Message]
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _call(client.for_partner(caller).channel, *call)
    return refused.value


ISOLATION = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RPC_NAMES = sorted(
    [
        "GetSolution",
        "BookSolution",
        "GetOrder",
        "CancelOrder",
        "WatchOrder",
        "SubmitFeedback(solution)",
        "SubmitFeedback(order)",
        "GetConsent",
        "WithdrawConsent",
    ]
)


@ISOLATION
@given(rpc=st.sampled_from(RPC_NAMES), caller=st.sampled_from(PARTNERS))
async def test_objects_of_others_are_not_found_exactly_like_missing_ones(
    stub: Stub,
    channel: grpc.aio.Channel,
    client: GatewayClient,
    gateway: RunningGateway,
    rpc: str,
    caller: str,
) -> None:
    j = await journey(channel)
    if caller == OWNER or (
        caller in j.participants and rpc in {"GetOrder", "WatchOrder", "CancelOrder"}
    ):
        return  # they may see it: covered by the participation tests below
    assert set(RPC_NAMES) == set(_rpcs())
    build = _rpcs()[rpc]
    before = await last_seq(gateway.store)
    foreign = await _refusal(client, caller, build(_real_id(j, rpc)))
    made_up = await _refusal(client, caller, build("x_does_not_exist"))
    assert foreign.code() == made_up.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(rich_status(foreign)).reason == error_info(rich_status(made_up)).reason
    assert (foreign.details() or "").replace(_real_id(j, rpc), "ID") == (
        made_up.details() or ""
    ).replace("x_does_not_exist", "ID")
    after = await gateway.store.audit_entries(before, 1000)
    audited = {(e.record.actor, e.record.subject, e.record.outcome) for e in after}
    assert (caller, _real_id(j, rpc), "denied") in audited
    assert (caller, "x_does_not_exist", "not_found") in audited


async def test_a_partner_in_the_order_sees_only_its_own_component(
    stub: Stub, channel: grpc.aio.Channel, client: GatewayClient
) -> None:
    j = await journey(channel)
    others = j.participants - {OWNER}
    assert others
    for partner in others:
        orders = client.for_partner(partner).orders  # the requests below name no partner
        seen = (
            await orders.GetOrder(
                order_service_pb2.GetOrderRequest(order_id=j.order.order_id), timeout=10
            )
        ).order
        events = [
            e.event
            async for e in orders.WatchOrder(
                order_service_pb2.WatchOrderRequest(order_id=j.order.order_id), timeout=10
            )
        ]
        with pytest.raises(grpc.aio.AioRpcError) as cancel:
            await orders.CancelOrder(
                order_service_pb2.CancelOrderRequest(
                    request_id="iso-cancel", order_id=j.order.order_id, confirm=True
                ),
                timeout=10,
            )
        assert {c.partner_id for c in seen.components} == {partner}
        assert not seen.solution_id
        assert not seen.consent_id
        assert seen.state == order_pb2.ORDER_STATE_CONFIRMED
        mine = {c.kind for c in seen.components}
        assert {e.component_kind for e in events} <= mine | {""}
        assert all(not e.detail for e in events if not e.component_kind)
        assert cancel.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # The owner still sees everything.
    whole = (
        await client.for_partner(OWNER).orders.GetOrder(
            order_service_pb2.GetOrderRequest(order_id=j.order.order_id), timeout=10
        )
    ).order
    assert {c.partner_id for c in whole.components} == j.participants
    assert whole.solution_id == j.solution.solution_id


async def test_orders_are_listed_to_their_owner_only(
    stub: Stub, channel: grpc.aio.Channel, client: GatewayClient
) -> None:
    j = await journey(channel)
    for partner in PARTNERS:
        listed = await client.for_partner(partner).orders.ListOrders(
            order_service_pb2.ListOrdersRequest(page_size=100), timeout=10
        )
        ids = {o.order_id for o in listed.orders}
        assert (j.order.order_id in ids) == (partner == OWNER)
