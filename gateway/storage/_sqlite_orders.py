"""The `OrderStore` half of the embedded store, as blocking functions on its one connection.

`SqliteStore` runs each in a worker thread under its lock. One process serializes them
there; `BEGIN IMMEDIATE` serializes writers across processes sharing the file. Lease times
come from this process's clock: every process sharing a file runs on the same machine.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

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
from gateway.storage._rows import (
    COMPONENT_COLUMNS,
    COMPONENT_FIELDS,
    UNFINISHED,
    check_unique_kinds,
    component_from_row,
    component_values,
    lease_lost,
    step_from_row,
    step_values,
    unknown_kind,
    unknown_order,
)
from gateway.storage._sqlite_audit import append as append_audit
from gateway.storage._sqlite_tx import from_text, now_text, reading, to_text, writing

_ORDER_COLUMNS = (
    "order_id, owner, solution_id, state, accept_partial, created_at, updated_at, version,"
    " consent_id"
)
_COMPONENT_SLOTS = ", ".join("?" * (2 + len(COMPONENT_FIELDS)))  # order_id, position, …
_COMPONENT_UPDATE = ", ".join(f"{field} = ?" for field in COMPONENT_FIELDS[1:])


def create_order(
    db: sqlite3.Connection,
    order: OrderRecord,
    request: tuple[str, str] | None,
    event: NewEvent,
    audit: Sequence[AuditRecord],
) -> tuple[OrderRecord, bool]:
    check_unique_kinds(order.components)
    with writing(db):
        if request is not None:
            earlier = find_order_request(db, order.owner, request[0])
            if earlier is not None:
                return _load(db, earlier.order_id), False
        now = now_text()
        db.execute(
            f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order.order_id,
                order.owner,
                order.solution_id,
                order.state.value,
                order.accept_partial,
                to_text(order.created_at),
                to_text(order.updated_at),
                order.version,
                order.consent_id,
            ),
        )
        db.executemany(
            f"INSERT INTO order_components (order_id, position, {COMPONENT_COLUMNS})"
            f" VALUES ({_COMPONENT_SLOTS})",
            [(order.order_id, i, *component_values(c)) for i, c in enumerate(order.components)],
        )
        if request is not None:
            db.execute(
                "INSERT INTO order_requests VALUES (?, ?, ?, ?, ?)",
                (order.owner, request[0], request[1], order.order_id, now),
            )
        _append_events(db, order.order_id, [event], now)
        append_audit(db, audit)
        return _load(db, order.order_id), True


def find_order_request(
    db: sqlite3.Connection, owner: str, request_id: str
) -> StoredOrderRequest | None:
    row = db.execute(
        "SELECT request_hash, order_id FROM order_requests WHERE owner = ? AND request_id = ?",
        (owner, request_id),
    ).fetchone()
    return StoredOrderRequest(request_hash=row[0], order_id=row[1]) if row else None


def get_order(db: sqlite3.Connection, order_id: str) -> OrderRecord | None:
    with reading(db):
        rows = db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE order_id = ?", (order_id,)
        ).fetchall()
        orders = _with_components(db, rows)
    return orders[0] if orders else None


def list_orders(
    db: sqlite3.Connection, owner: str, page_size: int, after: tuple[datetime, str] | None
) -> list[OrderRecord]:
    # With no cursor, start before any (created_at, order_id): '' sorts before every id.
    created, order_id = (to_text(after[0]), after[1]) if after else ("", "")
    with reading(db):
        rows = db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders"
            " WHERE owner = ? AND (created_at, order_id) > (?, ?)"
            " ORDER BY created_at, order_id LIMIT ?",
            (owner, created, order_id, page_size),
        ).fetchall()
        return _with_components(db, rows)


def save_progress(
    db: sqlite3.Connection,
    lease: Lease,
    state: OrderState | None,
    components: Sequence[ComponentRecord],
    step: SagaStep | None,
    events: Sequence[NewEvent],
    audit: Sequence[AuditRecord],
) -> OrderRecord:
    check_unique_kinds(components)
    order_id = lease.order_id
    with writing(db):
        now = now_text()
        _check_lease(db, lease, now)
        for component in components:
            kind, *values = component_values(component)
            updated = db.execute(
                f"UPDATE order_components SET {_COMPONENT_UPDATE} WHERE order_id = ? AND kind = ?",
                (*values, order_id, kind),
            )
            if updated.rowcount != 1:
                raise unknown_kind(order_id, kind)
        db.execute(
            "UPDATE orders SET state = COALESCE(?, state), version = version + 1,"
            " updated_at = ? WHERE order_id = ?",
            (state.value if state else None, now, order_id),
        )
        if step is not None:
            db.execute(
                "INSERT INTO saga_steps"
                " SELECT ?, COALESCE(MAX(n), 0) + 1, ?, ?, ?, ?, ?, ?"
                " FROM saga_steps WHERE order_id = ?",
                (order_id, *step_values(step), now, order_id),
            )
        _append_events(db, order_id, events, now)
        append_audit(db, audit)
        return _load(db, order_id)


def events(db: sqlite3.Connection, order_id: str, after_seq: int, limit: int) -> list[OrderEvent]:
    rows = db.execute(
        "SELECT seq, type, payload, at FROM order_events"
        " WHERE order_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (order_id, after_seq, limit),
    ).fetchall()
    return [
        OrderEvent(order_id=order_id, seq=seq, type=type_, payload=json.loads(p), at=from_text(at))
        for seq, type_, p, at in rows
    ]


def acquire_lease(db: sqlite3.Connection, order_id: str, holder: str, ttl_s: float) -> Lease | None:
    with writing(db):
        now = datetime.now(UTC)
        row = db.execute(
            "SELECT holder, token, expires_at FROM order_leases WHERE order_id = ?", (order_id,)
        ).fetchone()
        if row is None:
            if (
                db.execute("SELECT 1 FROM orders WHERE order_id = ?", (order_id,)).fetchone()
                is None
            ):
                raise unknown_order(order_id)
            token = 1
        elif row[0] == holder:
            token = row[1]
        elif row[2] > to_text(now):
            return None
        else:
            token = row[1] + 1
        expires = to_text(now + timedelta(seconds=ttl_s))
        db.execute(
            "INSERT INTO order_leases VALUES (?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE"
            " SET holder = excluded.holder, token = excluded.token,"
            " expires_at = excluded.expires_at",
            (order_id, holder, token, expires),
        )
        return Lease(order_id=order_id, holder=holder, token=token, expires_at=from_text(expires))


def renew_lease(db: sqlite3.Connection, lease: Lease, ttl_s: float) -> Lease:
    with writing(db):
        now = datetime.now(UTC)
        _check_lease(db, lease, to_text(now))
        expires = to_text(now + timedelta(seconds=ttl_s))
        db.execute(
            "UPDATE order_leases SET expires_at = ? WHERE order_id = ?", (expires, lease.order_id)
        )
        return replace(lease, expires_at=from_text(expires))


def release_lease(db: sqlite3.Connection, lease: Lease) -> None:
    with writing(db):
        now = now_text()
        db.execute(
            "UPDATE order_leases SET expires_at = ?"
            " WHERE order_id = ? AND holder = ? AND token = ? AND expires_at > ?",
            (now, lease.order_id, lease.holder, lease.token, now),
        )


def unfinished_orders(db: sqlite3.Connection, limit: int) -> list[str]:
    rows = db.execute(
        f"SELECT order_id FROM orders WHERE {UNFINISHED} ORDER BY created_at, order_id LIMIT ?",
        (limit,),
    ).fetchall()
    return [row[0] for row in rows]


def steps(db: sqlite3.Connection, order_id: str) -> list[SagaStep]:
    rows = db.execute(
        "SELECT component_kind, step, phase, idempotency_key, detail FROM saga_steps"
        " WHERE order_id = ? ORDER BY n",
        (order_id,),
    ).fetchall()
    return [step_from_row(row) for row in rows]


def _check_lease(db: sqlite3.Connection, lease: Lease, now: str) -> None:
    """Fencing: only the holder of the current token, before it expires, may write."""
    row = db.execute(
        "SELECT holder, token, expires_at FROM order_leases WHERE order_id = ?", (lease.order_id,)
    ).fetchone()
    if row is None or (row[0], row[1]) != (lease.holder, lease.token) or row[2] <= now:
        raise lease_lost(lease)


def _append_events(
    db: sqlite3.Connection, order_id: str, events: Sequence[NewEvent], now: str
) -> None:
    if not events:
        return
    (last,) = db.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM order_events WHERE order_id = ?", (order_id,)
    ).fetchone()
    db.executemany(
        "INSERT INTO order_events VALUES (?, ?, ?, ?, ?)",
        [
            (order_id, last + i, e.type, json.dumps(dict(e.payload), separators=(",", ":")), now)
            for i, e in enumerate(events, start=1)
        ],
    )


def _load(db: sqlite3.Connection, order_id: str) -> OrderRecord:
    rows = db.execute(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE order_id = ?", (order_id,))
    orders = _with_components(db, rows.fetchall())
    if not orders:
        raise unknown_order(order_id)
    return orders[0]


def _with_components(db: sqlite3.Connection, rows: list[Any]) -> list[OrderRecord]:
    """Records for order rows, with their components in the order they were given."""
    if not rows:
        return []
    ids = [row[0] for row in rows]
    found: dict[str, list[ComponentRecord]] = {order_id: [] for order_id in ids}
    for order_id, *component in db.execute(
        f"SELECT order_id, {COMPONENT_COLUMNS} FROM order_components"
        f" WHERE order_id IN ({', '.join('?' * len(ids))}) ORDER BY order_id, position",
        ids,
    ):
        found[order_id].append(component_from_row(component))
    return [_order(row, found[row[0]]) for row in rows]


def _order(row: Sequence[Any], components: list[ComponentRecord]) -> OrderRecord:
    order_id, owner, solution_id, state, accept_partial, created, updated, version, consent = row
    return OrderRecord(
        order_id=order_id,
        owner=owner,
        solution_id=solution_id,
        state=OrderState(state),
        accept_partial=bool(accept_partial),  # SQLite keeps booleans as 0/1
        components=tuple(components),
        created_at=from_text(created),
        updated_at=from_text(updated),
        version=version,
        consent_id=consent,
    )
