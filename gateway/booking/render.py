"""Stored orders and events as protobuf messages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from google.protobuf import timestamp_pb2

from gateway.model import ComponentRecord, ComponentState, OrderEvent, OrderRecord, OrderState
from gateway.money import to_money, totals_by_currency
from partnergateway.v1 import order_pb2, solution_pb2


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def order_state(state: OrderState) -> order_pb2.OrderState.ValueType:
    return order_pb2.OrderState.Value(f"ORDER_STATE_{state.value.upper()}")


def component_state(state: ComponentState) -> order_pb2.OrderComponentState.ValueType:
    return order_pb2.OrderComponentState.Value(f"ORDER_COMPONENT_STATE_{state.value.upper()}")


def price_message(c: ComponentRecord) -> solution_pb2.Price:
    base, tax = Decimal(c.base), Decimal(c.tax)
    return solution_pb2.Price(
        base=to_money(c.currency_code, base),
        tax=to_money(c.currency_code, tax),
        total=to_money(c.currency_code, base + tax),
    )


def order_message(order: OrderRecord) -> order_pb2.Order:
    confirmed = [c for c in order.components if c.state == ComponentState.CONFIRMED]
    return order_pb2.Order(
        order_id=order.order_id,
        solution_id=order.solution_id,
        partner_id=order.owner,
        state=order_state(order.state),
        accept_partial=order.accept_partial,
        components=[
            order_pb2.OrderComponent(
                kind=c.kind,
                partner_id=c.partner_id,
                offer_id=c.offer_id,
                state=component_state(c.state),
                reference=c.reference or "",
                price=price_message(c),
                detail=c.detail,
            )
            for c in order.components
        ],
        totals=totals_by_currency(
            (c.currency_code, Decimal(c.base) + Decimal(c.tax)) for c in confirmed
        ),
        create_time=_timestamp(order.created_at),
        update_time=_timestamp(order.updated_at),
        consent_id=order.consent_id,
    )


def event_message(event: OrderEvent) -> order_pb2.OrderEvent:
    payload = event.payload
    state = OrderState(payload["state"]) if "state" in payload else None
    return order_pb2.OrderEvent(
        order_id=event.order_id,
        sequence=event.seq,
        type=event.type,
        event_time=_timestamp(event.at),
        component_kind=str(payload.get("component", "")),
        order_state=order_state(state) if state else order_pb2.ORDER_STATE_UNSPECIFIED,
        detail=str(payload.get("detail", "")),
    )
