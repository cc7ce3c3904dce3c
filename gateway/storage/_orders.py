"""What the booking saga keeps: orders, their components, saga steps, order events (outbox),
request ids (AIP-155) and leases. One interface, two backends (SQLite, PostgreSQL), one
contract test suite (tests/gateway/storage/test_store_contract.py).

Every method that changes an order does so in ONE transaction together with the saga step
and the events that describe the change, so a crash never loses an event or leaves a step
unrecorded. Changes made on behalf of a saga carry its `Lease`; the store refuses them
(`LeaseLostError`) when another replica has taken the lease since (fencing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gateway.model import (
    AuditRecord,
    ComponentRecord,
    Lease,
    NewEvent,
    OrderEvent,
    OrderRecord,
    OrderState,
    SagaStep,
    StoredOrderRequest,
)


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
