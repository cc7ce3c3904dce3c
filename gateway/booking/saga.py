"""The booking saga: hold every component, confirm every component, and on any failure
release what was done, in reverse order.

Durable: every partner call is written as a `started` step before it is made and its outcome
after, together with the component's new state and an order event, in one transaction.
Idempotent: every call carries the key (order, component, step), so repeating it — a retry, or
a saga resumed after a crash — gets the partner's first answer and books nothing twice.
Resumable: the saga is a state machine over the stored order; `run` continues from whatever
state it finds. Exclusive: it runs only under the order's lease, and the store refuses its
writes once another replica has taken the lease over (fencing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from adapters import AdapterError, PartnerAdapter, PartnerRejected
from bundles import Recipe
from gateway.booking._keys import idempotency_key
from gateway.booking.notifier import OrderNotifier
from gateway.booking.requote import requote
from gateway.partners import PartnerDirectory
from gateway.privacy import Disclosure, disclosure_record
from gateway.storage import (
    FINAL_STATES,
    AuditRecord,
    AuditStore,
    ComponentRecord,
    ComponentState,
    ConsentRecord,
    ConsentStore,
    Lease,
    LeaseLostError,
    NewEvent,
    OrderRecord,
    OrderState,
    SagaStep,
    SolutionStore,
)
from gateway.storage import OrderStore as _OrderStore
from gateway.telemetry import PartnerCallObserver, Telemetry
from partnergateway.v1 import solution_pb2

log = logging.getLogger(__name__)

CANCEL_REQUESTED = "cancellation requested"
CONSENT_WITHDRAWN = "the customer's consent no longer covers this partner"
# Where the saga may stop: a crash-test hook (`PSG_CRASH_AT`), never set in production.
CrashHook = Callable[[str], None]


class BookingStore(_OrderStore, SolutionStore, ConsentStore, AuditStore, Protocol):
    """What booking needs kept: orders, their solutions and consents, and the audit log."""


@dataclass(frozen=True)
class SagaSettings:
    step_timeout_s: float = 5.0
    """Budget of one partner call, retries included."""
    lease_ttl_s: float = 15.0
    """A replica that stops renewing for this long loses its sagas to another."""


def _answered(sent: AuditRecord, outcome: str) -> AuditRecord:
    """What became of a disclosure (the partner's answer, or not sent), recorded beside it
    without the data's names and hash again."""
    return replace(sent, outcome=outcome, fields=(), values_hash="")


def _unknown_outcome(exc: AdapterError) -> bool:
    """True when the partner may have done it anyway (timeout, 5xx): then the call must be
    repeated with the same key before anything is assumed."""
    return not isinstance(exc, PartnerRejected) and exc.outcome != "auth_failed"


class SagaRunner:
    def __init__(
        self,
        store: BookingStore,
        directory: PartnerDirectory,
        recipes: Mapping[str, Recipe],
        replica_id: str,
        notifier: OrderNotifier,
        settings: SagaSettings = SagaSettings(),
        crash_hook: CrashHook | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._store = store
        self._directory = directory
        self._recipes = recipes
        self._replica = replica_id
        self._notifier = notifier
        self._settings = settings
        self._crash = crash_hook or (lambda point: None)
        telemetry = telemetry or Telemetry()
        self._metrics = telemetry.metrics
        self._observer = PartnerCallObserver(telemetry, self._metrics)
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
        consent = await self._store.get_consent(order.consent_id) if order.consent_id else None
        if consent is None or consent.withdrawn_at is not None:
            # Not even a re-quote goes out; the personal data kept for the holds goes.
            erased = [
                replace(c, detail=CONSENT_WITHDRAWN, disclosure=None)
                for c in order.components
                if c.state == ComponentState.PENDING
            ]
            return await self._save(
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
        solution = await self._solution(order)
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
                return await self._save(
                    lease,
                    state=OrderState.FAILED,
                    components=marked,
                    events=[NewEvent("order_failed", {"detail": f"solution expired: {detail}"})],
                )
            components = tuple(renewed)
            return await self._save(
                lease,
                state=OrderState.HOLDING,
                components=components,
                events=[NewEvent("offers_requoted"), NewEvent("holding_started")],
            )
        return await self._save(
            lease, state=OrderState.HOLDING, events=[NewEvent("holding_started")]
        )

    async def _hold_all(self, order: OrderRecord, lease: Lease) -> OrderRecord:
        consent = await self._store.get_consent(order.consent_id) if order.consent_id else None
        pending = [c for c in order.components if c.state == ComponentState.PENDING]
        await asyncio.gather(*(self._hold(order, c, consent, lease) for c in pending))
        order = await self._reload(order.order_id)
        failed = [c for c in order.components if c.state == ComponentState.HOLD_FAILED]
        held = [c for c in order.components if c.state == ComponentState.HELD]
        if not failed or (order.accept_partial and held):
            return await self._save(
                lease, state=OrderState.CONFIRMING, events=[NewEvent("confirming_started")]
            )
        return await self._save(
            lease, state=OrderState.COMPENSATING, events=[NewEvent("compensating_started")]
        )

    async def _confirm_all(self, order: OrderRecord, lease: Lease) -> OrderRecord:
        held = [c for c in order.components if c.state == ComponentState.HELD]
        await asyncio.gather(*(self._confirm(order.order_id, c, lease) for c in held))
        order = await self._reload(order.order_id)
        states = {c.state for c in order.components}
        confirmed = ComponentState.CONFIRMED in states
        failed = states & {ComponentState.HOLD_FAILED, ComponentState.CONFIRM_FAILED}
        if not failed:
            return await self._save(
                lease, state=OrderState.CONFIRMED, events=[NewEvent("order_confirmed")]
            )
        if order.accept_partial and confirmed:
            # Whatever may linger at the partners that failed is released first.
            await self._release_all(order, lease, only_failed=True)
            return await self._save(
                lease,
                state=OrderState.PARTIALLY_CONFIRMED,
                events=[NewEvent("order_partially_confirmed")],
            )
        return await self._save(
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
        return await self._save(lease, state=final, events=[NewEvent(event)])

    async def _cancel_requested(self, order: OrderRecord, lease: Lease) -> OrderRecord:
        for component in reversed(order.components):
            if component.state == ComponentState.CONFIRMED and component.detail == CANCEL_REQUESTED:
                await self._undo(order.order_id, component, lease, step="cancel")
        order = await self._reload(order.order_id)
        states = [c.state for c in order.components]
        if ComponentState.NEEDS_ATTENTION in states:
            final, event = OrderState.NEEDS_ATTENTION, "order_needs_attention"
        elif ComponentState.CONFIRMED in states:
            final, event = OrderState.CONFIRMED, "order_partially_cancelled"
        else:
            final, event = OrderState.CANCELLED, "order_cancelled"
        return await self._save(lease, state=final, events=[NewEvent(event)])

    # -- one partner call each ---------------------------------------------------------------

    async def _hold(
        self, order: OrderRecord, c: ComponentRecord, consent: ConsentRecord | None, lease: Lease
    ) -> None:
        key = idempotency_key(order.order_id, c.kind, "hold")
        adapter = self._adapter(c)
        disclosure = Disclosure.from_json(c.disclosure) if c.disclosure else Disclosure(())
        sent = self._hold_record(order, c, consent, disclosure)
        if consent is None or not consent.covers(c.partner_id, adapter.kind):
            # Withdrawn (or never given for this partner): nothing is sent, the data goes.
            refused = replace(
                c,
                state=ComponentState.HOLD_FAILED,
                detail=f"refused: {CONSENT_WITHDRAWN}",
                disclosure=None,
            )
            await self._step(
                lease,
                refused,
                "hold",
                "failed",
                key,
                event="component_hold_failed",
                audit=[_answered(sent, "consent_withdrawn")],
            )
            return
        # The audit record is committed before the data leaves, with the `started` step.
        await self._step(lease, c, "hold", "started", key, audit=[sent])
        try:
            with self._observer.call(c.partner_id, adapter.kind, "hold", c.kind) as call:
                try:
                    hold = await adapter.hold(
                        c.offer_id,
                        disclosure.travellers,
                        idempotency_key=key,
                        deadline=self._deadline(),
                    )
                except AdapterError as exc:
                    call.outcome = exc.outcome
                    raise
        except AdapterError as exc:
            kind = "unknown" if _unknown_outcome(exc) else "refused"
            failed = replace(
                c,
                state=ComponentState.HOLD_FAILED,
                detail=f"{kind}: {exc.message}",
                disclosure=None,
            )
            await self._step(
                lease,
                failed,
                "hold",
                "failed",
                key,
                event="component_hold_failed",
                audit=[_answered(sent, kind)],
            )
            return
        self._crash(f"after_call:hold:{c.kind}")
        held = replace(
            c, state=ComponentState.HELD, hold_id=hold.hold_id, detail="", disclosure=None
        )
        await self._step(
            lease,
            held,
            "hold",
            "succeeded",
            key,
            event="component_held",
            audit=[_answered(sent, "held")],
        )

    @staticmethod
    def _hold_record(
        order: OrderRecord, c: ComponentRecord, consent: ConsentRecord | None, d: Disclosure
    ) -> AuditRecord:
        return disclosure_record(
            actor="gateway",
            action="partner:hold",
            subject=f"{order.order_id}/{c.kind}",
            recipient=c.partner_id,
            consent=consent,
            values=[dict(t) for t in d.travellers],
            field_names=d.field_names,
            outcome="sent",
        )

    async def _confirm(self, order_id: str, c: ComponentRecord, lease: Lease) -> None:
        key = idempotency_key(order_id, c.kind, "confirm")
        adapter = self._adapter(c)
        await self._step(lease, c, "confirm", "started", key)
        assert c.hold_id is not None
        try:
            with self._observer.call(c.partner_id, adapter.kind, "confirm", c.kind) as call:
                try:
                    done = await adapter.confirm(
                        c.hold_id, idempotency_key=key, deadline=self._deadline()
                    )
                except AdapterError as exc:
                    call.outcome = exc.outcome
                    raise
        except AdapterError as exc:
            failed = replace(c, state=ComponentState.CONFIRM_FAILED, detail=exc.message)
            await self._step(
                lease, failed, "confirm", "failed", key, event="component_confirm_failed"
            )
            return
        self._crash(f"after_call:confirm:{c.kind}")
        confirmed = replace(c, state=ComponentState.CONFIRMED, reference=done.reference, detail="")
        await self._step(lease, confirmed, "confirm", "succeeded", key, event="component_confirmed")

    async def _release_all(
        self, order: OrderRecord, lease: Lease, *, only_failed: bool
    ) -> OrderRecord:
        """Releases, in reverse recipe order, everything that is or may be held or booked."""
        undo = {ComponentState.HOLD_FAILED, ComponentState.CONFIRM_FAILED}
        if not only_failed:
            undo |= {ComponentState.HELD, ComponentState.CONFIRMED}
        for component in reversed(order.components):
            if component.state in undo:
                await self._undo(order.order_id, component, lease, step="release")
        return await self._reload(order.order_id)

    async def _undo(self, order_id: str, c: ComponentRecord, lease: Lease, *, step: str) -> None:
        adapter = self._adapter(c)
        hold_id = c.hold_id
        if hold_id is None:
            if not c.detail.startswith("unknown"):
                return  # the partner refused the hold: nothing exists to release
            # The hold's answer was lost: asking again with the same key tells us its id, or
            # (if it never happened) holds now — either way there is then one hold to release.
            try:
                hold = await adapter.hold(
                    c.offer_id,
                    [],
                    idempotency_key=idempotency_key(order_id, c.kind, "hold"),
                    deadline=self._deadline(),
                )
            except PartnerRejected:
                return
            except AdapterError as exc:
                stuck = replace(
                    c, state=ComponentState.NEEDS_ATTENTION, detail=f"hold unknown: {exc.message}"
                )
                await self._step(
                    lease, stuck, step, "failed", "", event="component_needs_attention"
                )
                return
            hold_id = hold.hold_id
        key = idempotency_key(order_id, c.kind, step)
        await self._step(lease, c, step, "started", key)
        try:
            with self._observer.call(c.partner_id, adapter.kind, step, c.kind) as call:
                try:
                    done = await adapter.cancel(
                        hold_id, idempotency_key=key, deadline=self._deadline()
                    )
                except AdapterError as exc:
                    call.outcome = exc.outcome
                    raise
        except AdapterError as exc:
            stuck = replace(
                c, state=ComponentState.NEEDS_ATTENTION, hold_id=hold_id, detail=exc.message
            )
            await self._step(lease, stuck, step, "failed", key, event="component_needs_attention")
            return
        self._crash(f"after_call:{step}:{c.kind}")
        final = ComponentState.CANCELLED if step == "cancel" else ComponentState.RELEASED
        refund = (
            "" if done.refund is None else f"refund {done.refund.total} {done.refund.currency_code}"
        )
        undone = replace(c, state=final, hold_id=hold_id, detail=refund)
        await self._step(lease, undone, step, "succeeded", key, event=f"component_{final.value}")

    # -- plumbing -------------------------------------------------------------------------------

    def _adapter(self, c: ComponentRecord) -> PartnerAdapter:
        adapter = self._directory.adapters().get(c.partner_id)
        if adapter is None:
            raise LookupError(f"partner {c.partner_id} is no longer configured")
        return adapter

    def _deadline(self) -> float:
        return time.monotonic() + self._settings.step_timeout_s

    async def _solution(self, order: OrderRecord) -> solution_pb2.Solution:
        body = await self._store.load_solution(order.solution_id)
        if body is None:
            raise LookupError(f"solution {order.solution_id} of order {order.order_id} is gone")
        return solution_pb2.Solution.FromString(body)

    async def _reload(self, order_id: str) -> OrderRecord:
        order = await self._store.get_order(order_id)
        assert order is not None
        return order

    async def _step(
        self,
        lease: Lease,
        c: ComponentRecord,
        step: str,
        phase: str,
        key: str,
        *,
        event: str | None = None,
        audit: Sequence[AuditRecord] = (),
    ) -> None:
        self._crash(f"before_commit:{step}:{phase}:{c.kind}")
        events = [NewEvent(event, {"component": c.kind, "detail": c.detail})] if event else []
        await self._save(
            lease,
            components=[c] if phase != "started" else [],
            step=SagaStep(
                component_kind=c.kind, step=step, phase=phase, idempotency_key=key, detail=c.detail
            ),
            events=events,
            audit=audit,
        )
        self._crash(f"after_commit:{step}:{phase}:{c.kind}")

    async def _save(
        self,
        lease: Lease,
        *,
        state: OrderState | None = None,
        components: Any = (),
        step: SagaStep | None = None,
        events: list[NewEvent] | None = None,
        audit: Sequence[AuditRecord] = (),
    ) -> OrderRecord:
        stamped = [
            NewEvent(e.type, {**e.payload, "state": state.value}) if state else e
            for e in events or []
        ]
        order = await self._store.save_progress(
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
                solution = await self._solution(order)
                self._metrics.solutions_booked.add(
                    1, {"recipe": solution.recipe.split("@")[0], "entry.partner": order.owner}
                )
        self._notifier.changed(order.order_id)
        return order
