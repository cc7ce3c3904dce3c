"""An order as the booking saga sees it: its states, its components, the saga's steps, the
events it emits (outbox) and the lease a replica works on it under. Values only: the stores
(`gateway.storage`) keep them, the saga (`gateway.booking`) moves them on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class OrderState(StrEnum):
    PENDING = "pending"  # stored, saga not started
    HOLDING = "holding"
    CONFIRMING = "confirming"
    COMPENSATING = "compensating"  # undoing holds/confirmations after a failure
    CANCELLING = "cancelling"  # the customer asked to cancel a confirmed order
    CONFIRMED = "confirmed"
    PARTIALLY_CONFIRMED = "partially_confirmed"  # only when the customer accepted that
    COMPENSATED = "compensated"
    FAILED = "failed"  # nothing was booked (e.g. expired solution, price changed)
    CANCELLED = "cancelled"
    NEEDS_ATTENTION = "needs_attention"  # a compensation keeps failing: a person must look


FINAL_STATES = frozenset(
    {
        OrderState.CONFIRMED,
        OrderState.PARTIALLY_CONFIRMED,
        OrderState.COMPENSATED,
        OrderState.FAILED,
        OrderState.CANCELLED,
        OrderState.NEEDS_ATTENTION,
    }
)


class ComponentState(StrEnum):
    PENDING = "pending"
    HELD = "held"
    CONFIRMED = "confirmed"
    HOLD_FAILED = "hold_failed"  # the partner refused or never answered the hold
    CONFIRM_FAILED = "confirm_failed"
    RELEASED = "released"  # a hold or confirmation undone by compensation
    CANCELLED = "cancelled"  # cancelled at the customer's request
    NEEDS_ATTENTION = "needs_attention"  # compensation keeps failing
    SKIPPED = "skipped"  # not accepted by the customer


class HoldOutcome(StrEnum):
    """What is known of a component's hold at its partner: what compensation must undo."""

    NONE = "none"  # not asked for yet
    HELD = "held"  # the partner holds it (`hold_id`)
    REFUSED = "refused"  # the partner answered no: nothing exists to release
    NOT_SENT = "not_sent"  # never left the gateway (consent, circuit open, bulkhead full)
    UNKNOWN = "unknown"  # the answer was lost (timeout, 5xx): it may exist; ask again to know


class StepKind(StrEnum):
    """The partner call a saga step makes."""

    HOLD = "hold"
    CONFIRM = "confirm"
    RESOLVE = "resolve"  # the hold asked for again, same key and body, to learn its outcome
    RELEASE = "release"  # undoing a hold or confirmation (compensation)
    CANCEL = "cancel"  # cancelling a confirmed component at the customer's request


class StepPhase(StrEnum):
    STARTED = "started"  # committed before the call
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class ComponentRecord:
    kind: str
    partner_id: str
    offer_id: str
    currency_code: str
    base: str  # decimal strings, major unit
    tax: str
    state: ComponentState = ComponentState.PENDING
    hold_id: str | None = None
    reference: str | None = None  # PNR, policy number, booking number…
    detail: str = ""  # why the component is in a failed/attention state
    disclosure: str | None = None
    """The personal data the hold will send this partner (JSON, already minimised to its
    kind's allow-list). Kept only until the hold's outcome is known — a resumed saga sends
    it, and a hold whose answer was lost is asked for again with the very same request —
    erased (None) afterwards."""
    hold_outcome: HoldOutcome = HoldOutcome.NONE
    cancel_requested: bool = False
    """The customer asked to cancel this confirmed component (`CancelOrder` with confirm)."""


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    owner: str  # the entry partner that booked it
    solution_id: str
    state: OrderState
    accept_partial: bool
    components: tuple[ComponentRecord, ...]
    created_at: datetime
    updated_at: datetime
    version: int = 1
    consent_id: str = ""  # the consent its personal data is sent under

    def component(self, kind: str) -> ComponentRecord:
        return next(c for c in self.components if c.kind == kind)


@dataclass(frozen=True)
class OrderEvent:
    order_id: str
    seq: int  # 1, 2, 3… per order
    type: str  # "order_created", "component_held", …
    payload: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class SagaStep:
    """One partner call of a saga: written `started` before the call, then its outcome."""

    component_kind: str
    step: StepKind
    phase: StepPhase
    idempotency_key: str
    detail: str = ""


@dataclass(frozen=True)
class NewEvent:
    type: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lease:
    order_id: str
    holder: str  # the replica id
    token: int  # fencing token: grows every time the lease changes hands
    expires_at: datetime
