"""Writing down how a saga gets on: every change of an order in one transaction with the saga
step, the order events and the audit records that describe it, then a word to its watchers.

A saga's writes carry its lease; the store refuses them once another replica holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from gateway.booking.notifier import OrderNotifier
from gateway.model import (
    FINAL_STATES,
    AuditRecord,
    ComponentRecord,
    Lease,
    NewEvent,
    OrderRecord,
    OrderState,
    SagaStep,
    StepKind,
    StepPhase,
)
from gateway.storage import AuditStore, ConsentStore, SolutionStore
from gateway.storage import OrderStore as _OrderStore
from gateway.telemetry.metrics import GatewayMetrics
from partnergateway.v1 import solution_pb2

StepHook = Callable[[str], None]
"""Called with the name of each point a saga passes (`before_commit:hold:started:flight`,
`after_call:confirm:car`, …): the seam through which the crash-safety tests stop a gateway
there (`tests/crashing_gateway.py`). Production sets none."""


class BookingStore(_OrderStore, SolutionStore, ConsentStore, AuditStore, Protocol):
    """What booking needs kept: orders, their solutions and consents, and the audit log."""


class Progress:
    def __init__(
        self,
        store: BookingStore,
        notifier: OrderNotifier,
        metrics: GatewayMetrics,
        reached: StepHook,
    ) -> None:
        self.store = store
        self._notifier = notifier
        self._metrics = metrics
        self.reached = reached

    async def step(
        self,
        lease: Lease,
        c: ComponentRecord,
        step: StepKind,
        phase: StepPhase,
        key: str,
        *,
        event: str | None = None,
        audit: Sequence[AuditRecord] = (),
    ) -> None:
        """Records one partner call's step: `started` before the call (the component as it
        was), then its outcome together with the component's new state."""
        self.reached(f"before_commit:{step.value}:{phase.value}:{c.kind}")
        events = [NewEvent(event, {"component": c.kind, "detail": c.detail})] if event else []
        await self.save(
            lease,
            components=[c] if phase != StepPhase.STARTED else [],
            step=SagaStep(
                component_kind=c.kind, step=step, phase=phase, idempotency_key=key, detail=c.detail
            ),
            events=events,
            audit=audit,
        )
        self.reached(f"after_commit:{step.value}:{phase.value}:{c.kind}")

    async def save(
        self,
        lease: Lease,
        *,
        state: OrderState | None = None,
        components: Sequence[ComponentRecord] = (),
        step: SagaStep | None = None,
        events: Sequence[NewEvent] = (),
        audit: Sequence[AuditRecord] = (),
    ) -> OrderRecord:
        stamped = [
            NewEvent(e.type, {**e.payload, "state": state.value}) if state else e for e in events
        ]
        order = await self.store.save_progress(
            lease,
            state=state,
            components=tuple(components),
            step=step,
            events=stamped,
            audit=audit,
        )
        if state in FINAL_STATES:
            self._metrics.bookings_final.add(1, {"state": state.value})
            if state in (OrderState.CONFIRMED, OrderState.PARTIALLY_CONFIRMED) and not any(
                e.type == "order_partially_cancelled" for e in stamped
            ):
                solution = await self.solution(order)
                self._metrics.solutions_booked.add(
                    1, {"recipe": solution.recipe.split("@")[0], "entry.partner": order.owner}
                )
        self._notifier.changed(order.order_id)
        return order

    async def solution(self, order: OrderRecord) -> solution_pb2.Solution:
        body = await self.store.load_solution(order.solution_id)
        if body is None:
            raise LookupError(f"solution {order.solution_id} of order {order.order_id} is gone")
        return solution_pb2.Solution.FromString(body)

    async def reload(self, order_id: str) -> OrderRecord:
        order = await self.store.get_order(order_id)
        assert order is not None
        return order
