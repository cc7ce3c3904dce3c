"""The async bodies of the order commands: book, order, orders, cancel, watch."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from gateway.cli.channels import ClientTls, open_channel
from gateway.cli.journey import sample_family, traveller_message
from gateway.cli.render import money_json, money_text, stdout_console
from partnergateway.v1 import (
    entry_pb2,
    order_pb2,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_service_pb2,
    solution_service_pb2_grpc,
)


def state_name(state: int) -> str:
    return order_pb2.OrderState.Name(state).removeprefix("ORDER_STATE_").lower()  # type: ignore[arg-type]


def component_state_name(state: int) -> str:
    name = order_pb2.OrderComponentState.Name(state)  # type: ignore[arg-type]
    return name.removeprefix("ORDER_COMPONENT_STATE_").lower()


def order_json(order: order_pb2.Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "solution_id": order.solution_id,
        "partner": order.partner_id,
        "state": state_name(order.state),
        "components": [
            {
                "kind": c.kind,
                "partner": c.partner_id,
                "state": component_state_name(c.state),
                "reference": c.reference or None,
                "price": money_json(c.price.total),
                "detail": c.detail or None,
            }
            for c in order.components
        ],
        "totals": [money_json(m) for m in order.totals],
    }


def order_table(order: order_pb2.Order) -> Table:
    table = Table(title=f"Order {order.order_id} — {state_name(order.state)}")
    for column in ("component", "partner", "state", "reference", "price"):
        table.add_column(column)
    for c in order.components:
        table.add_row(
            c.kind,
            c.partner_id,
            component_state_name(c.state),
            c.reference or "—",
            money_text(c.price.total),
        )
    return table


def show_order(order: order_pb2.Order, as_json: bool) -> None:
    if as_json:
        print(json.dumps(order_json(order), ensure_ascii=False))
    else:
        stdout_console().print(order_table(order))


async def book(
    target: str,
    solution_id: str,
    partner: str | None,
    request_id: str | None,
    as_json: bool,
    deadline_s: float,
    *,
    tls: ClientTls | None = None,
    travellers: Sequence[entry_pb2.Traveller] | None = None,
) -> order_pb2.Order:
    """Books `solution_id` with `travellers`' details (default: the sample family that
    `compose` and `demo` plan the trip for)."""
    async with open_channel(target, tls) as channel:
        if partner is None:
            solutions = solution_service_pb2_grpc.SolutionServiceStub(channel)
            found = await solutions.GetSolution(
                solution_service_pb2.GetSolutionRequest(solution_id=solution_id), timeout=deadline_s
            )
            partner = found.solution.entry.partner_id
        stub = order_service_pb2_grpc.OrderServiceStub(channel)
        request = order_service_pb2.BookSolutionRequest(
            request_id=request_id or f"cli-{uuid.uuid4().hex}",
            solution_id=solution_id,
            partner_id=partner,
            travellers=travellers
            if travellers is not None
            else [traveller_message(p, documents=True) for p in sample_family()],
        )
        response = await stub.BookSolution(request, timeout=deadline_s)
    show_order(response.order, as_json)
    return response.order


async def get_order(
    target: str, order_id: str, partner: str, as_json: bool, *, tls: ClientTls | None = None
) -> None:
    async with open_channel(target, tls) as channel:
        stub = order_service_pb2_grpc.OrderServiceStub(channel)
        response = await stub.GetOrder(
            order_service_pb2.GetOrderRequest(order_id=order_id, partner_id=partner), timeout=10
        )
    show_order(response.order, as_json)


async def list_orders(
    target: str, partner: str, as_json: bool, *, tls: ClientTls | None = None
) -> None:
    token = ""
    async with open_channel(target, tls) as channel:
        stub = order_service_pb2_grpc.OrderServiceStub(channel)
        while True:
            page = await stub.ListOrders(
                order_service_pb2.ListOrdersRequest(
                    partner_id=partner, page_size=50, page_token=token
                ),
                timeout=10,
            )
            for order in page.orders:
                if as_json:
                    print(json.dumps(order_json(order), ensure_ascii=False))
                else:
                    stdout_console().print(
                        f"{order.order_id}  {state_name(order.state):20} "
                        + ", ".join(money_text(m) for m in order.totals)
                    )
            token = page.next_page_token
            if not token:
                return


async def cancel(
    target: str,
    order_id: str,
    partner: str,
    kinds: list[str],
    confirm: bool,
    as_json: bool,
    *,
    tls: ClientTls | None = None,
) -> None:
    async with open_channel(target, tls) as channel:
        stub = order_service_pb2_grpc.OrderServiceStub(channel)
        response = await stub.CancelOrder(
            order_service_pb2.CancelOrderRequest(
                request_id=f"cli-{uuid.uuid4().hex}",
                order_id=order_id,
                partner_id=partner,
                component_kinds=kinds,
                confirm=confirm,
            ),
            timeout=30,
        )
    refunds = [{"kind": r.kind, "refund": money_json(r.refund)} for r in response.refunds]
    if as_json:
        print(json.dumps({"refunds": refunds, "order": order_json(response.order)}))
        return
    console = stdout_console()
    for r in response.refunds:
        console.print(f"refund for {r.kind}: {money_text(r.refund)}")
    if confirm:
        console.print(order_table(response.order))
    else:
        console.print("This is a quote: add --confirm to cancel.")


async def watch(
    target: str, order_id: str, partner: str, after: int, *, tls: ClientTls | None = None
) -> None:
    console = stdout_console()
    async with open_channel(target, tls) as channel:
        stub = order_service_pb2_grpc.OrderServiceStub(channel)
        request = order_service_pb2.WatchOrderRequest(
            order_id=order_id, partner_id=partner, after_sequence=after
        )
        async for update in stub.WatchOrder(request):
            e = update.event
            state = state_name(e.order_state) if e.order_state else ""
            console.print(
                f"{e.sequence:4} {e.event_time.ToJsonString()} {e.type:28} "
                f"{e.component_kind:12} {state} {e.detail}"
            )
