"""The saga's partner calls, one component each: hold, confirm, and undo (release or cancel).

Every call is recorded around it (`Progress.step`): `started` before, the outcome and the
component's new state after. Every call carries the key (order, component, step), so a repeat
gets the partner's first answer.

A hold whose answer is lost (`AdapterError.effect_unknown`) may exist at the partner. Its
component keeps the exact personal data the hold sent until the outcome is known, and undoing
it first repeats the identical hold request — same key, same body — which the partner answers
with its first answer: the hold's id (then released), or its refusal (nothing to release).
Compensation is patient: a release, or such a repeat, is tried `undo_attempts` times, each
with twice the budget of the one before, before the component is parked as NEEDS_ATTENTION.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from adapters import AdapterError, CallNotSent, PartnerAdapter, PartnerRejected
from gateway.booking._keys import idempotency_key
from gateway.booking._progress import Progress
from gateway.model import (
    AuditRecord,
    ComponentRecord,
    ComponentState,
    ConsentRecord,
    HoldOutcome,
    Lease,
    OrderRecord,
    StepKind,
    StepPhase,
)
from gateway.partners import PartnerDirectory
from gateway.privacy import Disclosure, disclosure_record
from gateway.resilience import essential
from gateway.telemetry import PartnerCallObserver

T = TypeVar("T")

CONSENT_WITHDRAWN = "the customer's consent no longer covers this partner"
# Shown with a hold that failed, by what is known of it (the saga reads `hold_outcome`).
_HOLD_FAILED_TEXT = {
    HoldOutcome.REFUSED: "hold refused",
    HoldOutcome.NOT_SENT: "hold not sent",
    HoldOutcome.UNKNOWN: "hold outcome unknown",
}


@dataclass(frozen=True)
class StepSettings:
    step_timeout_s: float
    """Budget of one partner call, retries included."""
    undo_attempts: int
    """Tries of a release (or of a lost hold's repeat) before a person must look."""


def hold_outcome(exc: AdapterError) -> HoldOutcome:
    """What a failed hold leaves at the partner, from the error's own classification."""
    if isinstance(exc, CallNotSent):
        return HoldOutcome.NOT_SENT
    return HoldOutcome.UNKNOWN if exc.effect_unknown else HoldOutcome.REFUSED


def _answered(sent: AuditRecord, outcome: str) -> AuditRecord:
    """What became of a disclosure (the partner's answer, or not sent), recorded beside it
    without the data's names and hash again."""
    return replace(sent, outcome=outcome, fields=(), values_hash="")


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


def _covers(consent: ConsentRecord | None, c: ComponentRecord, kind: str) -> bool:
    return consent is not None and consent.covers(c.partner_id, kind)


class PartnerSteps:
    def __init__(
        self,
        progress: Progress,
        directory: PartnerDirectory,
        observer: PartnerCallObserver,
        settings: StepSettings,
    ) -> None:
        self._progress = progress
        self._directory = directory
        self._observer = observer
        self._settings = settings

    # -- hold ---------------------------------------------------------------------------------

    async def hold(
        self, order: OrderRecord, c: ComponentRecord, consent: ConsentRecord | None, lease: Lease
    ) -> None:
        key = idempotency_key(order.order_id, c.kind, StepKind.HOLD.value)
        adapter = self._adapter(c)
        disclosure = Disclosure.from_json(c.disclosure) if c.disclosure else Disclosure(())
        sent = _hold_record(order, c, consent, disclosure)
        if not _covers(consent, c, adapter.kind):
            # Withdrawn (or never given for this partner): nothing is sent, the data goes.
            refused = replace(
                c,
                state=ComponentState.HOLD_FAILED,
                hold_outcome=HoldOutcome.NOT_SENT,
                detail=CONSENT_WITHDRAWN,
                disclosure=None,
            )
            await self._progress.step(
                lease,
                refused,
                StepKind.HOLD,
                StepPhase.FAILED,
                key,
                event="component_hold_failed",
                audit=[_answered(sent, "consent_withdrawn")],
            )
            return
        # The audit record is committed before the data leaves, with the `started` step.
        await self._progress.step(lease, c, StepKind.HOLD, StepPhase.STARTED, key, audit=[sent])
        try:
            with self._observer.call(c.partner_id, adapter.kind, "hold", c.kind):
                hold = await adapter.hold(
                    c.offer_id,
                    disclosure.travellers,
                    idempotency_key=key,
                    deadline=self._deadline(),
                )
        except AdapterError as exc:
            outcome = hold_outcome(exc)
            failed = replace(
                c,
                state=ComponentState.HOLD_FAILED,
                hold_outcome=outcome,
                detail=f"{_HOLD_FAILED_TEXT[outcome]}: {exc.message}",
                # Kept while the hold may exist: releasing it repeats this very request.
                disclosure=c.disclosure if outcome == HoldOutcome.UNKNOWN else None,
            )
            await self._progress.step(
                lease,
                failed,
                StepKind.HOLD,
                StepPhase.FAILED,
                key,
                event="component_hold_failed",
                audit=[_answered(sent, outcome.value)],
            )
            return
        self._progress.reached(f"after_call:hold:{c.kind}")
        held = replace(
            c,
            state=ComponentState.HELD,
            hold_outcome=HoldOutcome.HELD,
            hold_id=hold.hold_id,
            detail="",
            disclosure=None,
        )
        await self._progress.step(
            lease,
            held,
            StepKind.HOLD,
            StepPhase.SUCCEEDED,
            key,
            event="component_held",
            audit=[_answered(sent, "held")],
        )

    # -- confirm ------------------------------------------------------------------------------

    async def confirm(self, order_id: str, c: ComponentRecord, lease: Lease) -> None:
        key = idempotency_key(order_id, c.kind, StepKind.CONFIRM.value)
        adapter = self._adapter(c)
        await self._progress.step(lease, c, StepKind.CONFIRM, StepPhase.STARTED, key)
        assert c.hold_id is not None
        try:
            with self._observer.call(c.partner_id, adapter.kind, "confirm", c.kind):
                done = await adapter.confirm(
                    c.hold_id, idempotency_key=key, deadline=self._deadline()
                )
        except AdapterError as exc:
            failed = replace(c, state=ComponentState.CONFIRM_FAILED, detail=exc.message)
            await self._progress.step(
                lease,
                failed,
                StepKind.CONFIRM,
                StepPhase.FAILED,
                key,
                event="component_confirm_failed",
            )
            return
        self._progress.reached(f"after_call:confirm:{c.kind}")
        confirmed = replace(c, state=ComponentState.CONFIRMED, reference=done.reference, detail="")
        await self._progress.step(
            lease,
            confirmed,
            StepKind.CONFIRM,
            StepPhase.SUCCEEDED,
            key,
            event="component_confirmed",
        )

    # -- undo ---------------------------------------------------------------------------------

    async def undo(
        self, order: OrderRecord, c: ComponentRecord, lease: Lease, *, step: StepKind
    ) -> None:
        """Releases (`RELEASE`) or cancels (`CANCEL`) whatever the partner holds for `c`."""
        if c.hold_id is None:
            if c.hold_outcome != HoldOutcome.UNKNOWN:
                return  # refused, or never sent: nothing exists to release
            found = await self._resolve(order, c, lease)
            if found is None:
                return
            c = found
        await self._release(order.order_id, c, lease, step)

    async def _resolve(
        self, order: OrderRecord, c: ComponentRecord, lease: Lease
    ) -> ComponentRecord | None:
        """Repeats a hold whose answer was lost, to learn its id. The component with the
        hold's id, or None when there is nothing to release (refused) or a person must look."""
        key = idempotency_key(order.order_id, c.kind, StepKind.HOLD.value)
        adapter = self._adapter(c)
        consent = (
            await self._progress.store.get_consent(order.consent_id) if order.consent_id else None
        )
        if c.disclosure is None or not _covers(consent, c, adapter.kind):
            # Its request cannot be repeated: stored before its data was kept for this, or the
            # customer's consent no longer lets it be sent again.
            why = "its request cannot be repeated" if c.disclosure is None else CONSENT_WITHDRAWN
            await self._stuck(lease, c, key, f"hold outcome unknown, {why}")
            return None
        disclosure = Disclosure.from_json(c.disclosure)
        sent = _hold_record(order, c, consent, disclosure)
        await self._progress.step(lease, c, StepKind.RESOLVE, StepPhase.STARTED, key, audit=[sent])
        # Through the breaker even when it is open: this call is part of a release.
        always = essential(adapter)
        try:
            hold = await self._patiently(
                c,
                "hold",
                lambda deadline: always.hold(
                    c.offer_id, disclosure.travellers, idempotency_key=key, deadline=deadline
                ),
            )
        except AdapterError as exc:
            # Only the partner's own "no" to this very request (its first answer replayed, or
            # a refusal now) says no hold exists; anything else (credentials refused, rate
            # limited, no answer) says nothing about the first request.
            if not isinstance(exc, PartnerRejected):
                await self._stuck(
                    lease,
                    c,
                    key,
                    f"hold outcome unknown: {exc.message}",
                    audit=[_answered(sent, "unknown")],
                )
                return None
            refused = replace(
                c,
                hold_outcome=HoldOutcome.REFUSED,
                detail=f"hold refused: {exc.message}",
                disclosure=None,
            )
            await self._progress.step(
                lease,
                refused,
                StepKind.RESOLVE,
                StepPhase.SUCCEEDED,
                key,
                audit=[_answered(sent, "refused")],
            )
            return None
        self._progress.reached(f"after_call:resolve:{c.kind}")
        found = replace(c, hold_outcome=HoldOutcome.HELD, hold_id=hold.hold_id, disclosure=None)
        await self._progress.step(
            lease,
            found,
            StepKind.RESOLVE,
            StepPhase.SUCCEEDED,
            key,
            audit=[_answered(sent, "held")],
        )
        return found

    async def _release(
        self, order_id: str, c: ComponentRecord, lease: Lease, step: StepKind
    ) -> None:
        hold_id = c.hold_id
        assert hold_id is not None
        key = idempotency_key(order_id, c.kind, step.value)
        adapter = self._adapter(c)
        await self._progress.step(lease, c, step, StepPhase.STARTED, key)
        try:
            done = await self._patiently(
                c,
                step.value,
                lambda deadline: adapter.cancel(hold_id, idempotency_key=key, deadline=deadline),
            )
        except AdapterError as exc:
            stuck = replace(c, state=ComponentState.NEEDS_ATTENTION, detail=exc.message)
            await self._progress.step(
                lease, stuck, step, StepPhase.FAILED, key, event="component_needs_attention"
            )
            return
        self._progress.reached(f"after_call:{step.value}:{c.kind}")
        final = ComponentState.CANCELLED if step == StepKind.CANCEL else ComponentState.RELEASED
        refund = (
            "" if done.refund is None else f"refund {done.refund.total} {done.refund.currency_code}"
        )
        undone = replace(c, state=final, detail=refund)
        await self._progress.step(
            lease, undone, step, StepPhase.SUCCEEDED, key, event=f"component_{final.value}"
        )

    async def _stuck(
        self,
        lease: Lease,
        c: ComponentRecord,
        key: str,
        detail: str,
        *,
        audit: list[AuditRecord] | None = None,
    ) -> None:
        """Parks a component whose hold may exist but cannot be found out: a person must ask
        the partner (by the hold's idempotency key). Its kept data goes: the saga is done."""
        stuck = replace(c, state=ComponentState.NEEDS_ATTENTION, detail=detail, disclosure=None)
        await self._progress.step(
            lease,
            stuck,
            StepKind.RESOLVE,
            StepPhase.FAILED,
            key,
            event="component_needs_attention",
            audit=audit or (),
        )

    async def _patiently(
        self, c: ComponentRecord, operation: str, call: Callable[[float], Awaitable[T]]
    ) -> T:
        """A compensation call: repeated (same key) while its failure may be passing, each
        time with twice the budget — a partner slower than `step_timeout_s` is still undone."""
        budget = self._settings.step_timeout_s
        adapter = self._adapter(c)
        for attempt in range(1, self._settings.undo_attempts + 1):
            try:
                with self._observer.call(c.partner_id, adapter.kind, operation, c.kind):
                    return await call(time.monotonic() + budget)
            except AdapterError as exc:
                if attempt == self._settings.undo_attempts or not (
                    exc.retryable or exc.effect_unknown
                ):
                    raise
            budget *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")

    # -- plumbing -----------------------------------------------------------------------------

    def _adapter(self, c: ComponentRecord) -> PartnerAdapter:
        adapter: PartnerAdapter | None = self._directory.adapters().get(c.partner_id)
        if adapter is None:
            raise LookupError(f"partner {c.partner_id} is no longer configured")
        return adapter

    def _deadline(self) -> float:
        return time.monotonic() + self._settings.step_timeout_s
