"""The embedded store's group commit: calls that queue while a batch runs share one
transaction, each all-or-nothing on its own, and every caller hears back only after the
COMMIT (real SQLite file, counted through SQLite's own trace of the statements run)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from gateway.storage import SqliteStore
from gateway.storage._sqlite_batch import GroupCommitter


async def _store(path: Path) -> tuple[SqliteStore, list[str]]:
    store = await SqliteStore.open(path)
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)  # what SQLite really ran
    return store, statements


async def _save(store: SqliteStore, solution_id: str) -> None:
    await store.save_solution(solution_id, "telecom-cn", "fp", b"body", None)


async def test_concurrent_saves_share_commits_and_all_land(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite3"
    store, statements = await _store(path)
    try:
        await asyncio.gather(*(_save(store, f"sol-{i}") for i in range(40)))
    finally:
        await store.aclose()
    commits = sum(s == "COMMIT" for s in statements)
    assert 1 <= commits < 40, f"{commits} COMMITs for 40 concurrent saves"
    reopened = sqlite3.connect(path)
    try:
        (count,) = reopened.execute("SELECT count(*) FROM solutions").fetchone()
    finally:
        reopened.close()
    assert count == 40


async def test_a_failing_call_is_undone_alone(tmp_path: Path) -> None:
    store, statements = await _store(tmp_path / "gateway.sqlite3")
    try:
        await _save(store, "taken")
        statements.clear()
        results = await asyncio.gather(
            _save(store, "before"),
            _save(store, "taken"),  # the same id again: refused
            _save(store, "after"),
            return_exceptions=True,
        )
        assert results[0] is None
        assert results[2] is None
        assert isinstance(results[1], ValueError)
        assert statements.count("COMMIT") == 1, "the three calls shared one transaction"
        assert await store.load_solution("before") == b"body"
        assert await store.load_solution("after") == b"body"
    finally:
        await store.aclose()


async def test_a_cancelled_caller_still_waits_for_its_commit(tmp_path: Path) -> None:
    store, _ = await _store(tmp_path / "gateway.sqlite3")
    try:
        saving = asyncio.create_task(_save(store, "cancelled"))
        await asyncio.sleep(0)  # queued, its batch running
        saving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await saving
        assert await store.load_solution("cancelled") == b"body"
    finally:
        await store.aclose()


async def test_a_failed_commit_fails_every_caller_of_the_batch(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "x.sqlite3", check_same_thread=False, isolation_level=None)
    db.execute("CREATE TABLE t (v INTEGER)")
    # A deferred foreign key fails at COMMIT, after every savepoint was released.
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
    db.execute("PRAGMA foreign_keys=ON")
    committer = GroupCommitter(db)

    def insert(value: int) -> None:
        db.execute("INSERT INTO t VALUES (?)", (value,))

    def orphan(_: sqlite3.Connection) -> None:
        db.execute("INSERT INTO child VALUES (42)")

    results = await asyncio.gather(
        committer.run(lambda _: insert(1)),
        committer.run(orphan),
        committer.run(lambda _: insert(2)),
        return_exceptions=True,
    )
    # Queued together, they share one batch: its COMMIT fails, so none of them landed.
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert db.execute("SELECT v FROM t").fetchall() == []
    await committer.run(lambda _: insert(3))  # the connection is usable again
    await committer.aclose()
    assert db.execute("SELECT v FROM t").fetchall() == [(3,)]
    db.close()
