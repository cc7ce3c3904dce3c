"""The feedback half of the store contract (FeedbackStore), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gateway.model import FeedbackRecord, KpiRow, NewEvent, OrderState
from gateway.storage import FeedbackStore, PostgresStore, SqliteStore
from gateway.storage._migrations import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, statements
from tests.gateway.storage.conftest import Store
from tests.gateway.storage.test_store_contract import CREATED, order

T0 = datetime(2030, 5, 1, 9, 30, tzinfo=UTC)
Migrations = tuple[tuple[int, str], ...]


def _conforms(a: SqliteStore, b: PostgresStore) -> list[FeedbackStore]:
    """Checked by mypy, never run: both backends implement the protocol."""
    return [a, b]


def feedback(
    solution_id: str,
    score: int,
    *,
    owner: str = "partner-1",
    order_id: str | None = None,
    request_id: str | None = None,
    request_hash: str = "h",
) -> FeedbackRecord:
    return FeedbackRecord(
        feedback_id=f"fb-{uuid.uuid4().hex[:12]}",
        owner=owner,
        solution_id=solution_id,
        order_id=order_id,
        score=score,
        comment="Smooth trip, the car was waiting.",
        request_id=request_id or f"req-{uuid.uuid4().hex[:12]}",
        request_hash=request_hash,
        created_at=T0,
    )


async def solution(store: Store, solution_id: str, owner: str, recipe: str) -> None:
    assert await store.save_solution(solution_id, owner, "fp", b"body", None, recipe=recipe) is None


async def booked(store: Store, solution_id: str, owner: str, *events: str) -> str:
    """An order for the solution that went through `events` (the saga's event types)."""
    stored, _ = await store.create_order(
        replace(order(owner), solution_id=solution_id), None, CREATED
    )
    lease = await store.acquire_lease(stored.order_id, "r1", ttl_s=30)
    assert lease is not None
    for event in events:
        state = OrderState(event.removeprefix("order_"))
        await store.save_progress(lease, state=state, events=[NewEvent(event)])
    return stored.order_id


# --- feedback and request ids ---------------------------------------------------------------


async def test_feedback_is_saved_once_per_request_id(store: Store) -> None:
    await solution(store, "sol-1", "partner-1", "travel_abroad@1")
    first = feedback("sol-1", 9, request_id="req-1", request_hash="h1")

    saved, created = await store.save_feedback(first)
    replay, again = await store.save_feedback(feedback("sol-1", 3, request_id="req-1"))

    assert created
    assert saved == first
    assert saved.created_at.utcoffset() == timedelta(0)
    assert not again
    assert replay == first  # the earlier feedback, whatever the new content
    [row] = await store.kpi_rows(None, None)
    assert (row.responses, row.promoters) == (1, 1)
    # Request ids are per owner: another partner may use the same one.
    await solution(store, "sol-2", "partner-2", "travel_abroad@1")
    other, created = await store.save_feedback(feedback("sol-2", 5, owner="partner-2"))
    assert created
    assert other.owner == "partner-2"


async def test_concurrent_feedback_with_one_request_id_is_stored_once(store: Store) -> None:
    await solution(store, "sol-1", "partner-1", "travel_abroad@1")

    results = await asyncio.gather(
        *(store.save_feedback(feedback("sol-1", 10, request_id="req-1")) for _ in range(10))
    )

    assert sum(created for _, created in results) == 1
    assert len({saved.feedback_id for saved, _ in results}) == 1
    [row] = await store.kpi_rows(None, None)
    assert row.responses == 1


async def test_feedback_on_an_unknown_solution_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="refused"):
        await store.save_feedback(feedback("no-such-solution", 8))


# --- KPI rows ---------------------------------------------------------------------------------


async def test_kpi_rows_count_offers_bookings_and_scores_per_partner_and_recipe(
    store: Store,
) -> None:
    for i in (1, 2, 3, 4):
        await solution(store, f"p1-{i}", "partner-1", "travel_abroad@1")
    await solution(store, "p1-hotel", "partner-1", "hotel_stay@2")
    await solution(store, "p2-1", "partner-2", "travel_abroad@1")
    # p1-1 is booked twice (it counts once); p1-2 partially, then cancelled (still taken up);
    # p1-3's order failed and p1-4 was never booked: neither counts.
    await booked(store, "p1-1", "partner-1", "order_confirmed")
    await booked(store, "p1-1", "partner-1", "order_confirmed")
    cancelled = await booked(
        store, "p1-2", "partner-1", "order_partially_confirmed", "order_cancelled"
    )
    await booked(store, "p1-3", "partner-1", "order_failed")
    for solution_id, score in [("p1-1", 10), ("p1-1", 9), ("p1-3", 6), ("p1-4", 0)]:
        await store.save_feedback(feedback(solution_id, score))
    await store.save_feedback(feedback("p1-2", 7, order_id=cancelled))
    await store.save_feedback(feedback("p1-hotel", 8))

    rows = await store.kpi_rows(None, None)

    assert rows == [
        KpiRow("partner-1", "hotel_stay@2", 1, 0, 1, 0, 1, 0),
        KpiRow("partner-1", "travel_abroad@1", 4, 2, 5, 2, 1, 2),
        KpiRow("partner-2", "travel_abroad@1", 1, 0, 0, 0, 0, 0),
    ]
    assert [r.take_up for r in rows] == [0.0, 0.5, 0.0]
    assert [r.nps for r in rows] == [0.0, 0.0, None]  # none answered: no score, not 0


async def test_kpi_rows_filter_by_partner_and_by_recipe_name_or_version(store: Store) -> None:
    await solution(store, "a", "partner-1", "travel_abroad@1")
    await solution(store, "b", "partner-1", "travel_abroad@2")
    await solution(store, "c", "partner-2", "travel_abroad@1")
    await solution(store, "d", "partner-2", "travelXabroad@1")  # `_` is no wildcard
    await solution(store, "e", "partner-2", "")  # stored before recipes were recorded
    await store.save_feedback(feedback("a", 10))
    await store.save_feedback(feedback("a", 2))
    await store.save_feedback(feedback("a", 9))

    def keys(rows: list[KpiRow]) -> list[tuple[str, str]]:
        return [(r.entry_partner, r.recipe) for r in rows]

    assert keys(await store.kpi_rows("partner-1", None)) == [
        ("partner-1", "travel_abroad@1"),
        ("partner-1", "travel_abroad@2"),
    ]
    assert keys(await store.kpi_rows(None, "travel_abroad")) == [
        ("partner-1", "travel_abroad@1"),
        ("partner-1", "travel_abroad@2"),
        ("partner-2", "travel_abroad@1"),
    ]
    assert keys(await store.kpi_rows("partner-2", "travel_abroad@1")) == [
        ("partner-2", "travel_abroad@1")
    ]
    assert await store.kpi_rows(None, "travel") == []
    assert await store.kpi_rows("partner-9", None) == []
    assert keys(await store.kpi_rows("partner-2", None))[0] == ("partner-2", "")
    [a] = await store.kpi_rows("partner-1", "travel_abroad@1")
    assert a.nps == pytest.approx(100 / 3)  # (2 promoters - 1 detractor) / 3 responses


# --- migration 3 on data made before it ------------------------------------------------------


def _made_at_version_2(execute: Callable[[str], object], migrations: Migrations) -> None:
    execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
    for version, script in migrations[:2]:
        for statement in statements(script):
            execute(statement)
        execute(f"INSERT INTO schema_migrations VALUES ({version})")


async def test_solutions_stored_before_recipes_report_under_an_empty_recipe(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    _made_at_version_2(db.execute, SQLITE_MIGRATIONS)
    db.execute("INSERT INTO solutions VALUES ('sol-0', 'partner-1', 'fp', '2030-01-01', x'00')")
    db.close()

    store = await SqliteStore.open(path)
    try:
        await store.save_feedback(feedback("sol-0", 10))
        assert await store.kpi_rows(None, None) == [KpiRow("partner-1", "", 1, 0, 1, 1, 0, 0)]
    finally:
        await store.aclose()


async def test_postgres_solutions_stored_before_recipes_report_under_an_empty_recipe(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(postgres_schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(postgres_schema)))
        _made_at_version_2(conn.execute, POSTGRES_MIGRATIONS)
        conn.execute("INSERT INTO solutions VALUES ('sol-0', 'partner-1', 'fp', now(), '\\x00')")

    store = await PostgresStore.open(postgres_dsn, schema=postgres_schema)
    try:
        await store.save_feedback(feedback("sol-0", 10))
        assert await store.kpi_rows(None, None) == [KpiRow("partner-1", "", 1, 0, 1, 1, 0, 0)]
    finally:
        await store.aclose()
