"""The `OrderStore` half of the shared store, as functions on one pooled connection.

Connections are in autocommit mode; a function that writes more than one row opens its own
transaction. Replicas race here, so every check-then-write is one statement or holds a row
lock: request ids by `ON CONFLICT DO NOTHING`, leases by one conditional upsert, progress
by locking the lease row (`FOR UPDATE`) before checking its token. Lease and progress times
come from the database clock, the one clock every replica shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

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
from gateway.storage._postgres_audit import append as append_audit
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
    utc_aware,
)

Connection = psycopg.AsyncConnection[Any]

_ORDER_COLUMNS = (
    "order_id, owner, solution_id, state, accept_partial, created_at, updated_at, version,"
    " consent_id"
)
_COMPONENT_SLOTS = ", ".join(["%s"] * (2 + len(COMPONENT_FIELDS)))  # order_id, position, …
_COMPONENT_UPDATE = ", ".join(f"{field} = %s" for field in COMPONENT_FIELDS[1:])

# Free, expired, or ours already: take it (a new holder bumps the token). Otherwise the
# WHERE fails and nothing is returned. The upsert locks the row and re-checks the WHERE on
# its newest version, so of replicas racing for one lease exactly one gets a row back.
_ACQUIRE = """
    INSERT INTO order_leases AS l (order_id, holder, token, expires_at)
    VALUES (%(order_id)s, %(holder)s, 1, now() + make_interval(secs => %(ttl)s))
    ON CONFLICT (order_id) DO UPDATE SET
        holder = excluded.holder,
        token = CASE WHEN l.holder = excluded.holder THEN l.token ELSE l.token + 1 END,
        expires_at = excluded.expires_at
    WHERE l.holder = excluded.holder OR l.expires_at <= now()
    RETURNING token, expires_at
"""


async def create_order(
    conn: Connection,
    order: OrderRecord,
    request: tuple[str, str] | None,
    event: NewEvent,
    audit: Sequence[AuditRecord],
) -> tuple[OrderRecord, bool]:
    check_unique_kinds(order.components)
    if request is not None:
        earlier = await find_order_request(conn, order.owner, request[0])
        if earlier is not None:
            return await _existing(conn, earlier.order_id), False
    created: OrderRecord | None = None
    async with conn.transaction():
        # Each claim waits for a concurrent insert of the same key to commit, then does
        # nothing; losing either one rolls everything back.
        inserted = await conn.execute(
            f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
            (
                order.order_id,
                order.owner,
                order.solution_id,
                order.state.value,
                order.accept_partial,
                utc_aware(order.created_at),
                utc_aware(order.updated_at),
                order.version,
                order.consent_id,
            ),
        )
        if await inserted.fetchone() is None:
            raise psycopg.Rollback()
        async with conn.cursor() as cur:
            await cur.executemany(
                f"INSERT INTO order_components (order_id, position, {COMPONENT_COLUMNS})"
                f" VALUES ({_COMPONENT_SLOTS})",
                [(order.order_id, i, *component_values(c)) for i, c in enumerate(order.components)],
            )
        if request is not None:
            claimed = await conn.execute(
                "INSERT INTO order_requests VALUES (%s, %s, %s, %s, now())"
                " ON CONFLICT DO NOTHING RETURNING order_id",
                (order.owner, request[0], request[1], order.order_id),
            )
            if await claimed.fetchone() is None:
                raise psycopg.Rollback()
        await _append_events(conn, order.order_id, [event])
        await append_audit(conn, audit)
        created = await _existing(conn, order.order_id)
    if created is not None:
        return created, True
    # Rolled back: a concurrent create with this request id (perhaps with an id derived from
    # it) won and has committed since; without one, the order id was simply taken.
    winner = await find_order_request(conn, order.owner, request[0]) if request else None
    if winner is None:
        raise ValueError(f"order id {order.order_id} is taken")
    return await _existing(conn, winner.order_id), False


async def find_order_request(
    conn: Connection, owner: str, request_id: str
) -> StoredOrderRequest | None:
    cur = await conn.execute(
        "SELECT request_hash, order_id FROM order_requests WHERE owner = %s AND request_id = %s",
        (owner, request_id),
    )
    row = await cur.fetchone()
    return StoredOrderRequest(request_hash=row[0], order_id=row[1]) if row else None


async def get_order(conn: Connection, order_id: str) -> OrderRecord | None:
    async with conn.transaction():
        await _snapshot(conn)
        orders = await _select_orders(conn, "WHERE order_id = %s", (order_id,))
    return orders[0] if orders else None


async def list_orders(
    conn: Connection, owner: str, page_size: int, after: tuple[datetime, str] | None
) -> list[OrderRecord]:
    where, params = "WHERE owner = %s", list[Any]([owner])
    if after is not None:
        where += " AND (created_at, order_id) > (%s, %s)"
        params += after
    async with conn.transaction():
        await _snapshot(conn)
        return await _select_orders(
            conn, f"{where} ORDER BY created_at, order_id LIMIT %s", (*params, page_size)
        )


async def save_progress(
    conn: Connection,
    lease: Lease,
    state: OrderState | None,
    components: Sequence[ComponentRecord],
    step: SagaStep | None,
    events: Sequence[NewEvent],
    audit: Sequence[AuditRecord],
) -> OrderRecord:
    check_unique_kinds(components)
    order_id = lease.order_id
    async with conn.transaction():
        # The row lock keeps the lease from changing hands until this transaction ends.
        cur = await conn.execute(
            "SELECT holder, token, expires_at > now() FROM order_leases"
            " WHERE order_id = %s FOR UPDATE",
            (order_id,),
        )
        row = await cur.fetchone()
        if row is None or (row[0], row[1]) != (lease.holder, lease.token) or not row[2]:
            raise lease_lost(lease)
        for component in components:
            kind, *values = component_values(component)
            updated = await conn.execute(
                f"UPDATE order_components SET {_COMPONENT_UPDATE}"
                " WHERE order_id = %s AND kind = %s",
                (*values, order_id, kind),
            )
            if updated.rowcount != 1:
                raise unknown_kind(order_id, kind)
        await conn.execute(
            "UPDATE orders SET state = COALESCE(%s, state), version = version + 1,"
            " updated_at = now() WHERE order_id = %s",
            (state.value if state else None, order_id),
        )
        if step is not None:
            await conn.execute(
                "INSERT INTO saga_steps"
                " SELECT %s, COALESCE(MAX(n), 0) + 1, %s, %s, %s, %s, %s, now()"
                " FROM saga_steps WHERE order_id = %s",
                (order_id, *step_values(step), order_id),
            )
        await _append_events(conn, order_id, events)
        await append_audit(conn, audit)
        return await _existing(conn, order_id)


async def events(conn: Connection, order_id: str, after_seq: int, limit: int) -> list[OrderEvent]:
    cur = await conn.execute(
        "SELECT seq, type, payload, at FROM order_events"
        " WHERE order_id = %s AND seq > %s ORDER BY seq LIMIT %s",
        (order_id, after_seq, limit),
    )
    return [
        OrderEvent(order_id=order_id, seq=seq, type=type_, payload=payload, at=_utc(at))
        for seq, type_, payload, at in await cur.fetchall()
    ]


async def acquire_lease(conn: Connection, order_id: str, holder: str, ttl_s: float) -> Lease | None:
    try:
        cur = await conn.execute(
            _ACQUIRE, {"order_id": order_id, "holder": holder, "ttl": float(ttl_s)}
        )
    except psycopg.errors.ForeignKeyViolation as exc:
        raise unknown_order(order_id) from exc
    row = await cur.fetchone()
    if row is None:
        return None
    return Lease(order_id=order_id, holder=holder, token=row[0], expires_at=_utc(row[1]))


async def renew_lease(conn: Connection, lease: Lease, ttl_s: float) -> Lease:
    cur = await conn.execute(
        "UPDATE order_leases SET expires_at = now() + make_interval(secs => %s)"
        " WHERE order_id = %s AND holder = %s AND token = %s AND expires_at > now()"
        " RETURNING expires_at",
        (float(ttl_s), lease.order_id, lease.holder, lease.token),
    )
    row = await cur.fetchone()
    if row is None:
        raise lease_lost(lease)
    return Lease(lease.order_id, lease.holder, lease.token, _utc(row[0]))


async def release_lease(conn: Connection, lease: Lease) -> None:
    await conn.execute(
        "UPDATE order_leases SET expires_at = now()"
        " WHERE order_id = %s AND holder = %s AND token = %s AND expires_at > now()",
        (lease.order_id, lease.holder, lease.token),
    )


async def unfinished_orders(conn: Connection, limit: int) -> list[str]:
    cur = await conn.execute(
        f"SELECT order_id FROM orders WHERE {UNFINISHED} ORDER BY created_at, order_id LIMIT %s",
        (limit,),
    )
    return [row[0] for row in await cur.fetchall()]


async def steps(conn: Connection, order_id: str) -> list[SagaStep]:
    cur = await conn.execute(
        "SELECT component_kind, step, phase, idempotency_key, detail FROM saga_steps"
        " WHERE order_id = %s ORDER BY n",
        (order_id,),
    )
    return [step_from_row(row) for row in await cur.fetchall()]


async def _snapshot(conn: Connection) -> None:
    """Makes the current transaction read one snapshot: an order and its components."""
    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


async def _append_events(conn: Connection, order_id: str, events: Sequence[NewEvent]) -> None:
    if not events:
        return
    cur = await conn.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM order_events WHERE order_id = %s", (order_id,)
    )
    row = await cur.fetchone()
    last = row[0] if row else 0
    await cur.executemany(
        "INSERT INTO order_events VALUES (%s, %s, %s, %s, now())",
        [(order_id, last + i, e.type, Jsonb(dict(e.payload))) for i, e in enumerate(events, 1)],
    )


async def _existing(conn: Connection, order_id: str) -> OrderRecord:
    orders = await _select_orders(conn, "WHERE order_id = %s", (order_id,))
    if not orders:
        raise unknown_order(order_id)
    return orders[0]


async def _select_orders(
    conn: Connection, clauses: str, params: Sequence[Any]
) -> list[OrderRecord]:
    """Orders selected by `clauses` (WHERE … ORDER BY … LIMIT), with their components."""
    cur = await conn.execute(f"SELECT {_ORDER_COLUMNS} FROM orders {clauses}", params)
    rows = await cur.fetchall()
    if not rows:
        return []
    found: dict[str, list[ComponentRecord]] = {row[0]: [] for row in rows}
    cur = await conn.execute(
        f"SELECT order_id, {COMPONENT_COLUMNS} FROM order_components"
        " WHERE order_id = ANY(%s) ORDER BY order_id, position",
        (list(found),),
    )
    for order_id, *component in await cur.fetchall():
        found[order_id].append(component_from_row(component))
    return [_order(row, found[row[0]]) for row in rows]


def _order(row: Sequence[Any], components: list[ComponentRecord]) -> OrderRecord:
    order_id, owner, solution_id, state, accept_partial, created, updated, version, consent = row
    return OrderRecord(
        order_id=order_id,
        owner=owner,
        solution_id=solution_id,
        state=OrderState(state),
        accept_partial=accept_partial,
        components=tuple(components),
        created_at=_utc(created),
        updated_at=_utc(updated),
        version=version,
        consent_id=consent,
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
