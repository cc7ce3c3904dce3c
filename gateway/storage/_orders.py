"""What the booking saga keeps: orders, their components, saga steps, order events (outbox),
request ids (AIP-155) and leases. One interface, two backends (SQLite, PostgreSQL), one
contract test suite (tests/gateway/storage/test_store_contract.py).

Every method that changes an order does so in ONE transaction together with the saga step
and the events that describe the change, so a crash never loses an event or leaves a step
unrecorded. Changes made on behalf of a saga carry its `Lease`; the store refuses them
(`LeaseLostError`) when another replica has taken the lease since (fencing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from gateway.storage._audit import AuditRecord


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
class StoredOrderRequest:
    request_hash: str
    order_id: str


@dataclass(frozen=True)
class Lease:
    order_id: str
    holder: str  # the replica id
    token: int  # fencing token: grows every time the lease changes hands
    expires_at: datetime


class LeaseLostError(Exception):
    """Another replica holds the saga's lease now; this one must stop working on it."""


class OrderStore(Protocol):
    async def create_order(
        self,
        order: OrderRecord,
        request: tuple[str, str] | None,
        event: NewEvent,
        *,
        audit: Sequence[AuditRecord] = (),
    ) -> tuple[OrderRecord, bool]:
        """Stores a new order with its first event, `audit` (appended to the audit log) and,
        if given, `(request_id, hash)` for `order.owner`. When that request id is taken,
        stores nothing (and audits nothing) and returns the earlier order with False;
        otherwise the new order with True."""
        ...

    async def find_order_request(
        self, owner: str, request_id: str
    ) -> StoredOrderRequest | None: ...

    async def get_order(self, order_id: str) -> OrderRecord | None: ...

    async def list_orders(
        self, owner: str, page_size: int, after: tuple[datetime, str] | None
    ) -> list[OrderRecord]:
        """`owner`'s orders by (created_at, order_id), strictly after `after`."""
        ...

    async def save_progress(
        self,
        lease: Lease,
        *,
        state: OrderState | None = None,
        components: Sequence[ComponentRecord] = (),
        step: SagaStep | None = None,
        events: Sequence[NewEvent] = (),
        audit: Sequence[AuditRecord] = (),
    ) -> OrderRecord:
        """In one transaction: checks `lease` is still current (else `LeaseLostError`),
        replaces the given components (matched by kind), sets `state`, records `step`, appends
        `events` (next seqs) and `audit` (to the audit log) and bumps `version`/`updated_at`.
        Returns the new order. Refused, it changes nothing and audits nothing."""
        ...

    async def events(self, order_id: str, after_seq: int, limit: int) -> list[OrderEvent]: ...

    async def acquire_lease(self, order_id: str, holder: str, ttl_s: float) -> Lease | None:
        """Takes the lease when it is free, expired, or already `holder`'s (then renews it,
        same token). A new holder gets token + 1. None when another holder's lease is live."""
        ...

    async def renew_lease(self, lease: Lease, ttl_s: float) -> Lease:
        """Extends a current lease; `LeaseLostError` when it is no longer current."""
        ...

    async def release_lease(self, lease: Lease) -> None:
        """Gives a current lease up (expires it now); a lost lease is left alone."""
        ...

    async def unfinished_orders(self, limit: int) -> list[str]:
        """Ids of orders not in a final state, oldest first."""
        ...

    async def steps(self, order_id: str) -> list[SagaStep]:
        """The saga steps recorded for an order, in order (for tests and operators)."""
        ...
