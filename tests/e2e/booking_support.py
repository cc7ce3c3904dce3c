"""Helpers of the booking tests: compose-then-book, and what the partners' ledgers say."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from gateway.client.journeys import TripPlan, book_request, compose_request
from partnergateway.v1 import (
    order_pb2,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_pb2,
    solution_service_pb2_grpc,
)
from tests.support import SandboxControl

PLAN = TripPlan.sample(datetime.now(UTC).date())


async def compose_solution(
    channel: grpc.aio.Channel, kind: str = "roaming"
) -> solution_pb2.Solution:
    stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
    response = await stub.ComposeSolution(compose_request(kind, PLAN), timeout=10)
    solution: solution_pb2.Solution = response.solution
    return solution


async def book(
    channel: grpc.aio.Channel, solution: solution_pb2.Solution, request_id: str, **fields: object
) -> order_pb2.Order:
    stub = order_service_pb2_grpc.OrderServiceStub(channel)
    request = book_request(
        solution.solution_id, PLAN, request_id, solution.entry.partner_id, **fields
    )
    response = await stub.BookSolution(request, timeout=30)
    order: order_pb2.Order = response.order
    return order


async def final_order(channel: grpc.aio.Channel, order_id: str, partner_id: str) -> order_pb2.Order:
    """Follows the order's events to its final state, then reads it."""
    stub = order_service_pb2_grpc.OrderServiceStub(channel)
    watch = order_service_pb2.WatchOrderRequest(order_id=order_id, partner_id=partner_id)
    async for _ in stub.WatchOrder(watch, timeout=60):
        pass
    response = await stub.GetOrder(
        order_service_pb2.GetOrderRequest(order_id=order_id, partner_id=partner_id), timeout=10
    )
    order: order_pb2.Order = response.order
    return order


async def calls(
    control: SandboxControl, partner_id: str, order_id: str, operation: str
) -> list[int]:
    """Statuses of `operation` calls made for `order_id` (by their Idempotency-Key)."""
    return [
        e["status"]
        for e in await control.ledger(partner_id, operation)
        if str(e.get("idempotency_key") or "").startswith(order_id)
    ]
