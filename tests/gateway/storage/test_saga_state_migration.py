"""Migration 5 on orders stored before it: the saga state the old saga wrote as text in
`detail` ("unknown: …", "cancellation requested") becomes columns, on both backends."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from gateway.model import HoldOutcome, OrderRecord
from gateway.storage import PostgresStore, SqliteStore
from gateway.storage._migrations import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, statements

Migrations = tuple[tuple[int, str], ...]
T = "2030-05-01T09:30:00.000000+00:00"

ORDERS = [
    ("ord-compensating", "compensating"),
    ("ord-cancelling", "cancelling"),
]
# (order, kind, state, hold_id, detail) as the saga before migration 5 wrote them.
COMPONENTS = [
    ("ord-compensating", "flight", "hold_failed", None, "unknown: airline-a: no answer"),
    ("ord-compensating", "car", "hold_failed", None, "refused: HTTP 409 conflict: sold out"),
    (
        "ord-compensating",
        "insurance",
        "hold_failed",
        None,
        "refused: the customer's consent no longer covers this partner",
    ),
    ("ord-compensating", "connectivity", "needs_attention", None, "hold unknown: circuit open"),
    ("ord-cancelling", "flight", "confirmed", "h-1", "cancellation requested"),
    ("ord-cancelling", "car", "confirmed", "h-2", ""),
    ("ord-cancelling", "insurance", "released", "h-3", ""),
    ("ord-cancelling", "connectivity", "skipped", None, ""),
]
EXPECTED = {
    ("ord-compensating", "flight"): (HoldOutcome.UNKNOWN, False),
    ("ord-compensating", "car"): (HoldOutcome.REFUSED, False),
    ("ord-compensating", "insurance"): (HoldOutcome.NOT_SENT, False),
    ("ord-compensating", "connectivity"): (HoldOutcome.UNKNOWN, False),
    ("ord-cancelling", "flight"): (HoldOutcome.HELD, True),
    ("ord-cancelling", "car"): (HoldOutcome.HELD, False),
    ("ord-cancelling", "insurance"): (HoldOutcome.HELD, False),
    ("ord-cancelling", "connectivity"): (HoldOutcome.NONE, False),
}


def _made_at_version_4(execute: Callable[..., object], migrations: Migrations, p: str) -> None:
    """The schema as migration 4 left it, with orders the old saga wrote (`p`: placeholder)."""
    execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
    for version, script in migrations[:4]:
        for statement in statements(script):
            execute(statement)
        execute(f"INSERT INTO schema_migrations VALUES ({version})")
    for order_id, state in ORDERS:
        execute(
            "INSERT INTO orders (order_id, owner, solution_id, state, accept_partial,"
            f" created_at, updated_at, version) VALUES ({p}, 'telecom-cn', 'sol-1', {p},"
            f" {p}, {p}, {p}, 1)",
            (order_id, state, False, T, T),
        )
    for position, (order_id, kind, state, hold_id, detail) in enumerate(COMPONENTS):
        execute(
            "INSERT INTO order_components (order_id, kind, position, partner_id, offer_id,"
            " currency_code, base, tax, state, hold_id, reference, detail) VALUES"
            f" ({p}, {p}, {p}, 'p', 'o', 'CNY', '1', '0', {p}, {p}, NULL, {p})",
            (order_id, kind, position, state, hold_id, detail),
        )


def _check(orders: list[OrderRecord | None]) -> None:
    found = {
        (order.order_id, c.kind): (c.hold_outcome, c.cancel_requested)
        for order in orders
        if order is not None
        for c in order.components
    }
    assert found == EXPECTED


async def test_sqlite_orders_from_before_keep_their_saga_state(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    _made_at_version_4(db.execute, SQLITE_MIGRATIONS, "?")
    db.close()

    store = await SqliteStore.open(path)
    try:
        _check([await store.get_order(order_id) for order_id, _ in ORDERS])
    finally:
        await store.aclose()


async def test_postgres_orders_from_before_keep_their_saga_state(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(postgres_schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(postgres_schema)))

        def execute(statement: str, params: tuple[object, ...] | None = None) -> object:
            return conn.execute(statement.encode(), params)

        _made_at_version_4(execute, POSTGRES_MIGRATIONS, "%s")

    store = await PostgresStore.open(postgres_dsn, schema=postgres_schema)
    try:
        _check([await store.get_order(order_id) for order_id, _ in ORDERS])
    finally:
        await store.aclose()
