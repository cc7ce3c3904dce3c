"""Order records ↔ table rows, shared by both backends (their columns are the same)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.model import (
    FINAL_STATES,
    ComponentRecord,
    ComponentState,
    HoldOutcome,
    Lease,
    SagaStep,
    StepKind,
    StepPhase,
)
from gateway.storage._orders import LeaseLostError

# The `order_components` columns that hold a record's fields, in `component_values` order.
COMPONENT_FIELDS = (
    "kind",
    "partner_id",
    "offer_id",
    "currency_code",
    "base",
    "tax",
    "state",
    "hold_id",
    "reference",
    "detail",
    "disclosure",
    "hold_outcome",
    "cancel_requested",
)
COMPONENT_COLUMNS = ", ".join(COMPONENT_FIELDS)

# Written out as literals, not parameters: only then can the planner use the partial index
# `orders_unfinished`, whose predicate is this same list.
UNFINISHED = "state NOT IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(FINAL_STATES)))


def component_values(c: ComponentRecord) -> tuple[Any, ...]:
    """The values for `COMPONENT_FIELDS`, in order."""
    return (
        c.kind,
        c.partner_id,
        c.offer_id,
        c.currency_code,
        c.base,
        c.tax,
        c.state.value,
        c.hold_id,
        c.reference,
        c.detail,
        c.disclosure,
        c.hold_outcome.value,
        c.cancel_requested,
    )


def component_from_row(row: Sequence[Any]) -> ComponentRecord:
    """A record from a row of `COMPONENT_FIELDS`."""
    kind, partner_id, offer_id, currency, base, tax, state, hold_id, reference, *rest = row
    detail, disclosure, hold_outcome, cancel_requested = rest
    return ComponentRecord(
        kind=kind,
        partner_id=partner_id,
        offer_id=offer_id,
        currency_code=currency,
        base=base,
        tax=tax,
        state=ComponentState(state),
        hold_id=hold_id,
        reference=reference,
        detail=detail,
        disclosure=disclosure,
        hold_outcome=HoldOutcome(hold_outcome),
        cancel_requested=bool(cancel_requested),  # SQLite keeps 0/1
    )


def step_values(step: SagaStep) -> tuple[str, str, str, str, str]:
    return (
        step.component_kind,
        step.step.value,
        step.phase.value,
        step.idempotency_key,
        step.detail,
    )


def step_from_row(row: Sequence[Any]) -> SagaStep:
    kind, step, phase, key, detail = row
    return SagaStep(
        component_kind=kind,
        step=StepKind(step),
        phase=StepPhase(phase),
        idempotency_key=key,
        detail=detail,
    )


def utc_aware(moment: datetime) -> datetime:
    """`moment` in UTC; a naive time would be read in whatever zone the server runs in."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the store keeps UTC-aware times")
    return moment.astimezone(UTC)


def check_unique_kinds(components: Sequence[ComponentRecord]) -> None:
    """An order holds at most one component of a kind: kinds are how updates find them."""
    kinds = [c.kind for c in components]
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"components repeat a kind: {kinds}")


def unknown_kind(order_id: str, kind: str) -> ValueError:
    return ValueError(f"order {order_id} has no component of kind {kind!r}")


def unknown_order(order_id: str) -> ValueError:
    return ValueError(f"no order {order_id}")


def lease_lost(lease: Lease) -> LeaseLostError:
    """A lease is current while its (holder, token) is the stored one and it has not
    expired; a lapsed lease counts as lost even before anyone takes it over."""
    return LeaseLostError(
        f"lease on order {lease.order_id} (token {lease.token}) is no longer {lease.holder}'s"
    )
