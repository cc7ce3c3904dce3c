"""The booking saga: hold every component, confirm every component, and on any failure
release what was done, in reverse order.

Durable: every partner call is written as a `started` step before it is made and its outcome
after, together with the component's new state and an order event, in one transaction.
Idempotent: every call carries the key (order, component, step), so repeating it — a retry, or
a saga resumed after a crash — gets the partner's first answer and books nothing twice.
Resumable: the saga is a state machine over the stored order; `run` continues from whatever
state it finds, deciding only on stored states (`OrderState`, `ComponentState`, `HoldOutcome`,
`cancel_requested`), never on text. Exclusive: it runs only under the order's lease, and the
store refuses its writes once another replica has taken the lease over (fencing).

The partner calls themselves are in `_steps.py`; how progress is written, in `_progress.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bundles import Recipe
from gateway.booking._progress import BookingStore, Progress, StepHook
from gateway.booking._steps import CONSENT_WITHDRAWN, PartnerSteps, StepSettings
from gateway.booking.notifier import OrderNotifier
from gateway.booking.policy import SagaSettings
from gateway.booking.requote import requote
from gateway.model import (
    FINAL_STATES,
    AuditRecord,
    ComponentState,
    HoldOutcome,
    Lease,
    NewEvent,
    OrderRecord,
    OrderState,
    StepKind,
)
from gateway.partners import PartnerDirectory
from gateway.storage import LeaseLostError
from gateway.telemetry import PartnerCallObserver, Telemetry

log = logging.getLogger(__name__)

CANCEL_REQUESTED = "cancellation requested"
"""Shown with a component the customer asked to cancel; the saga reads `cancel_requested`."""

__all__ = [
    "CANCEL_REQUESTED",
    "CONSENT_WITHDRAWN",
    "BookingStore",
    "SagaRunner",
    "SagaSettings",
    "StepHook",
]


_DEFAULT_POLICY = SagaSettings()


class SagaRunner:
    def __init__(
        self,
        store: BookingStore,
        directory: PartnerDirectory,
        recipes: Mapping[str, Recipe],
        replica_id: str,
        notifier: OrderNotifier,
        settings: SagaSettings = _DEFAULT_POLICY,
        step_hook: StepHook | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._store = store
        self._directory = directory
        self._recipes = recipes
        self._replica = replica_id
        self._settings = settings
        telemetry = telemetry or Telemetry()
        metrics = telemetry.metrics
        self._progress = Progress(store, notifier, metrics, step_hook or (lambda point: None))
        self._steps = PartnerSteps(
            self._progress,
            directory,
            PartnerCallObserver(telemetry, metrics),
            StepSettings(settings.step_timeout_s, settings.undo_attempts),
        )
        self._tracer = telemetry.tracer("gateway.booking")

    async def run(self, order_id: str) -> OrderRecord | None:
        """Drives the order to a final state. None when another replica holds its lease."""
        lease = await self._store.acquire_lease(order_id, self._replica, self._settings.lease_ttl_s)
        if lease is None:
            return None
        saga = asyncio.current_task()
        keeper = asyncio.create_task(self._keep(lease, saga))
        try:
            with self._tracer.start_as_current_span(
                "booking.saga", attributes={"order.id": order_id}
            ) as span:
                order = await self._store.get_order(order_id)
                while order is not None and order.state not in FINAL_STATES:
                    order = await self._advance(order, lease)
                if order is not None:
                    span.set_attribute("order.state", order.state.value)
                return order
        except LeaseLostError:
            log.warning("order %s: lease lost, another replica continues", order_id)
            return None
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            with contextlib.suppress(LeaseLostError):
                await self._store.release_lease(lease)

    async def _keep(self, lease: Lease, saga: asyncio.Task[Any] | None) -> None:
        """Renews the lease; if it is lost, stops the saga at once."""
        while True:
            await asyncio.sleep(self._settings.lease_ttl_s / 3)
            try:
                await self._store.renew_lease(lease, self._settings.lease_ttl_s)
            except LeaseLostError:
                if saga is not None:
                    saga.cancel()
                return

    # -- the state machine -----------------------------------------------------------------

    async def _advance(self, order: OrderRecord, lease: Lease) -> OrderRecord:
        step = {
            OrderState.PENDING: self._start,
            OrderState.HOLDING: self._hold_all,
            OrderState.CONFIRMING: self._confirm_all,
            OrderState.COMPENSATING: self._compensate,
            OrderState.CANCELLING: self._cancel_requested,
        }[order.state]
        return await step(order, lease)

    async def _start(self, order: OrderRecord, lease: Lease) -> OrderRecord:
        save = self._progress.save
        consent = await self._store.get_consent(order.consent_id) if order.consent_id else None
        if consent is None or consent.withdrawn_at is not None:
            # Not even a re-quote goes out; the personal data kept for the holds goes.
            erased = [
                replace(
                    c,
                    hold_outcome=HoldOutcome.NOT_SENT,
                    detail=CONSENT_WITHDRAWN,
                    disclosure=None,
                )
                for c in order.components
                if c.state == ComponentState.PENDING
            ]
            return await save(
                lease,
                state=OrderState.FAILED,
                components=erased,
                events=[NewEvent("order_failed", {"detail": CONSENT_WITHDRAWN})],
                audit=[
                    AuditRecord(
                        actor="gateway",
                        action="booking:start",
                        subject=order.order_id,
                        outcome="consent_withdrawn",
                        consent_id=order.consent_id,
                    )
                ],
            )
        solution = await self._progress.solution(order)
        components = order.components
        if solution.HasField("expire_time") and solution.expire_time.ToDatetime(
            UTC
        ) <= datetime.now(UTC):
            active = tuple(c for c in components if c.state == ComponentState.PENDING)
            renewed, changes = await requote(
                active, solution, self._recipes, self._directory, self._settings.step_timeout_s
            )
            if changes:
                # Nothing is held: the customer decides on the new prices, not the gateway.
                detail = "; ".join(f"{c.kind}: {c.detail}" for c in changes)
                why = {c.kind: c.detail for c in changes}
                marked = [replace(c, detail=why[c.kind]) for c in components if c.kind in why]
                return await save(
                    lease,
                    state=OrderState.FAILED,
                    components=marked,
                    events=[NewEvent("order_failed", {"detail": f"solution expired: {detail}"})],
                )
            return await save(
                lease,
                state=OrderState.HOLDING,
                components=renewed,
                events=[NewEvent("offers_requoted"), NewEvent("holding_started")],
            )
        return await save(lease, state=OrderState.HOLDING, events=[NewEvent("holding_started")])

    async def _hold_all(self, order: OrderRecord, lease: Lease) -> OrderRecord:
        consent = await self._store.get_consent(order.consent_id) if order.consent_id else None
        pending = [c for c in order.components if c.state == ComponentState.PENDING]
        await asyncio.gather(*(self._steps.hold(order, c, consent, lease) for c in pending))
        order = await self._progress.reload(order.order_id)
        failed = [c for c in order.components if c.state == ComponentState.HOLD_FAILED]
        held = [c for c in order.components if c.state == ComponentState.HELD]
        if not failed or (order.accept_partial and held):
            return await self._progress.save(
                lease, state=OrderState.CONFIRMING, events=[NewEvent("confirming_started")]
            )
        return await self._progress.save(
            lease, state=OrderState.COMPENSATING, events=[NewEvent("compensating_started")]
        )

    async def _confirm_all(self, order: OrderRecord, lease: Lease) -> OrderRecord:
        held = [c for c in order.components if c.state == ComponentState.HELD]
        await asyncio.gather(*(self._steps.confirm(order.order_id, c, lease) for c in held))
        order = await self._progress.reload(order.order_id)
        states = {c.state for c in order.components}
        confirmed = ComponentState.CONFIRMED in states
        failed = states & {ComponentState.HOLD_FAILED, ComponentState.CONFIRM_FAILED}
        if not failed:
            return await self._progress.save(
                lease, state=OrderState.CONFIRMED, events=[NewEvent("order_confirmed")]
            )
        if order.accept_partial and confirmed:
            # Whatever may linger at the partners that failed is released first.
            await self._release_all(order, lease, only_failed=True)
            return await self._progress.save(
                lease,
                state=OrderState.PARTIALLY_CONFIRMED,
                events=[NewEvent("order_partially_confirmed")],
            )
        return await self._progress.save(
            lease, state=OrderState.COMPENSATING, events=[NewEvent("compensating_started")]
        )

    async def _compensate(self, order: OrderRecord, lease: Lease) -> OrderRecord:
        order = await self._release_all(order, lease, only_failed=False)
        states = {c.state for c in order.components}
        if ComponentState.NEEDS_ATTENTION in states:
            final, event = OrderState.NEEDS_ATTENTION, "order_needs_attention"
        elif ComponentState.RELEASED in states:
            final, event = OrderState.COMPENSATED, "order_compensated"
        else:
            final, event = OrderState.FAILED, "order_failed"
        return await self._progress.save(lease, state=final, events=[NewEvent(event)])

    async def _cancel_requested(self, order: OrderRecord, lease: Lease) -> OrderRecord:
        for component in reversed(order.components):
            if component.state == ComponentState.CONFIRMED and component.cancel_requested:
                await self._steps.undo(order, component, lease, step=StepKind.CANCEL)
        order = await self._progress.reload(order.order_id)
        states = [c.state for c in order.components]
        if ComponentState.NEEDS_ATTENTION in states:
            final, event = OrderState.NEEDS_ATTENTION, "order_needs_attention"
        elif ComponentState.CONFIRMED in states:
            final, event = OrderState.CONFIRMED, "order_partially_cancelled"
        else:
            final, event = OrderState.CANCELLED, "order_cancelled"
        return await self._progress.save(lease, state=final, events=[NewEvent(event)])

    async def _release_all(
        self, order: OrderRecord, lease: Lease, *, only_failed: bool
    ) -> OrderRecord:
        """Releases, in reverse recipe order, everything that is or may be held or booked."""
        undo = {ComponentState.HOLD_FAILED, ComponentState.CONFIRM_FAILED}
        if not only_failed:
            undo |= {ComponentState.HELD, ComponentState.CONFIRMED}
        for component in reversed(order.components):
            if component.state in undo:
                await self._steps.undo(order, component, lease, step=StepKind.RELEASE)
        return await self._progress.reload(order.order_id)
