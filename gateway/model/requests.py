"""Request ids already used (AIP-155): what a replay of a mutating RPC resolves to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoredRequest:
    """A request id already used by a partner: its content hash and the solution it made."""

    request_hash: str
    solution_id: str


@dataclass(frozen=True)
class StoredOrderRequest:
    """A `BookSolution` request id already used by a partner: its content hash and the order
    it made."""

    request_hash: str
    order_id: str
