"""The async bodies of the order commands: book, order, orders, cancel, watch."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.cli.render import amounts_in_text, money_json, money_text, stdout_console
from gateway.cli.travellers import booking_travellers
from gateway.client import GatewayClient
from gateway.client.journeys import traveller_message
from partnergateway.v1 import entry_pb2, order_pb2, order_service_pb2, solution_service_pb2


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
        "consent_id": order.consent_id or None,
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
    table = Table(
        title=f"Order {order.order_id} — {state_name(order.state)}",
        caption=f"booked by {order.partner_id}"
        + (f", consent {order.consent_id}" if order.consent_id else ""),
    )
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
    client: GatewayClient,
    solution_id: str,
    partner: str | None,
    request_id: str | None,
    as_json: bool,
    deadline_s: float,
    *,
    travellers: Sequence[entry_pb2.Traveller] | None = None,
    console: Console | None = None,
) -> order_pb2.Order:
    """Books `solution_id` with `travellers`' details; by default the travellers the solution
    was composed for, as `gateway.cli.travellers` makes them up. Acts as `partner`, else (with
    authentication off) as the solution's entry partner."""
    if partner is None or travellers is None:
        # GetSolution names no partner: the token says who asks.
        asking = client.for_partner(partner) if partner else client
        found = await asking.solutions.GetSolution(
            solution_service_pb2.GetSolutionRequest(solution_id=solution_id),
            timeout=deadline_s,
        )
        partner = partner or found.solution.entry.partner_id
        if travellers is None:
            people, made_up = booking_travellers(found.solution.trip)
            travellers = [traveller_message(p, documents=True) for p in people]
            if made_up and console is not None:
                console.print(
                    f"Booking with {len(people)} sample travellers matching the solution's "
                    "(placeholder names and documents: the command line has no others)."
                )
    request = order_service_pb2.BookSolutionRequest(
        request_id=request_id or f"cli-{uuid.uuid4().hex}",
        solution_id=solution_id,
        partner_id=partner,
        travellers=travellers,
    )
    response = await client.orders.BookSolution(request, timeout=deadline_s)
    show_order(response.order, as_json)
    return response.order


async def get_order(client: GatewayClient, order_id: str, partner: str, as_json: bool) -> None:
    response = await client.orders.GetOrder(
        order_service_pb2.GetOrderRequest(order_id=order_id, partner_id=partner), timeout=10
    )
    show_order(response.order, as_json)


async def list_orders(client: GatewayClient, partners: Sequence[str], as_json: bool) -> int:
    """Prints the orders each of `partners` booked; says so when one has none. The count."""
    console = stdout_console()
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("order", no_wrap=True)
    table.add_column("booked by", no_wrap=True)
    table.add_column("state")
    table.add_column("totals", justify="right", no_wrap=True)
    count = 0
    for partner in partners:
        stub = client.for_partner(partner).orders
        found = 0
        token = ""
        while True:
            page = await stub.ListOrders(
                order_service_pb2.ListOrdersRequest(
                    partner_id=partner, page_size=50, page_token=token
                ),
                timeout=10,
            )
            for order in page.orders:
                found += 1
                if as_json:
                    print(json.dumps(order_json(order), ensure_ascii=False))
                else:
                    table.add_row(
                        order.order_id,
                        partner,
                        state_name(order.state),
                        "\n".join(money_text(m) for m in order.totals),
                    )
            token = page.next_page_token
            if not token:
                break
        if not found and not as_json:
            console.print(f"No orders booked by {partner}.")
        count += found
    if table.rows:
        console.print(table)
    return count


async def cancel(
    client: GatewayClient,
    order_id: str,
    partner: str,
    kinds: list[str],
    confirm: bool,
    as_json: bool,
) -> None:
    response = await client.orders.CancelOrder(
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


async def watch(client: GatewayClient, order_id: str, partner: str, after: int) -> None:
    console = stdout_console()
    request = order_service_pb2.WatchOrderRequest(
        order_id=order_id, partner_id=partner, after_sequence=after
    )
    console.print(
        escape(f"{'seq':>4} {'UTC':14} {'event':25} {'component':12} state, detail"),
        style="bold",
    )
    async for update in client.orders.WatchOrder(request):
        console.print(escape(event_line(update.event)))


def event_line(e: order_pb2.OrderEvent) -> str:
    """One order event in one line of at most 80 columns for the usual events; amounts
    formatted as everywhere else on the command line."""
    at = e.event_time.ToDatetime().strftime("%m-%d %H:%M:%S")
    state = state_name(e.order_state) if e.order_state else ""
    said = "  ".join(part for part in (state, amounts_in_text(e.detail)) if part)
    return f"{e.sequence:4} {at} {e.type:25} {e.component_kind:12} {said}".rstrip()
