"""Idempotency keys for partner calls: one per (order, component, step), so a retry after a
lost answer, or a resumed saga after a crash, repeats the same call and the partner answers
it once."""

from __future__ import annotations


def idempotency_key(order_id: str, component_kind: str, step: str) -> str:
    return f"{order_id}:{component_kind}:{step}"
