"""The audit log and consents contract: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest

from gateway.audit import values_hash, verify, verify_store
from gateway.booking import BookingStore
from gateway.model import (
    AuditEntry,
    AuditRecord,
    ConsentRecord,
    OrderState,
    SagaStep,
    StepKind,
    StepPhase,
)
from gateway.storage import (
    GENESIS_HASH,
    AuditStore,
    ConsentStore,
    LeaseLostError,
    PostgresStore,
    SqliteStore,
)
from tests.gateway.storage.conftest import Database, OpenStore, Store
from tests.gateway.storage.test_store_contract import CREATED, component, leased, order

T0 = datetime(2030, 5, 1, 9, 30, 0, 123456, tzinfo=UTC)
_PLUS_2 = timezone(timedelta(hours=2))


def _conforms(a: SqliteStore, b: PostgresStore) -> None:
    """Checked by mypy, never run: both backends implement every protocol."""
    audit: list[AuditStore] = [a, b]
    consents: list[ConsentStore] = [a, b]
    booking: list[BookingStore] = [a, b]
    del audit, consents, booking


def record(subject: str, outcome: str = "ok") -> AuditRecord:
    return AuditRecord(actor="partner-1", action="rpc:Test/Do", subject=subject, outcome=outcome)


def disclosed(subject: str, recipient: str = "airline-a") -> AuditRecord:
    """A partner call that sent personal data."""
    return AuditRecord(
        actor="gateway",
        action="partner:hold",
        subject=subject,
        outcome="held",
        purpose="travel_abroad",
        consent_id="c-1",
        recipient=recipient,
        fields=("travellers[0].given_name", "travellers[0].passport.number"),
        values_hash=values_hash([{"given_name": "Zoë", "number": "X123"}]),
    )


def consent(consent_id: str = "c-1", **changes: object) -> ConsentRecord:
    base = ConsentRecord(
        consent_id=consent_id,
        owner="telecom-cn",
        purpose="travel_abroad",
        partner_ids=("airline-a", "insurer-b"),
        partner_kinds=("car",),
        given_at=T0,
        notice_version="notice-3",
        created_at=T0 + timedelta(seconds=1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def whole_log(store: Store) -> list[AuditEntry]:
    """The chain, once every committed record is in it (as a replica's sealer leaves it)."""
    while await store.seal_audit() > 0:
        pass
    return await store.audit_entries(0, 10_000)


def assert_one_chain(entries: list[AuditEntry], count: int) -> None:
    assert [e.seq for e in entries] == list(range(1, count + 1))
    report = verify(entries)
    assert (report.ok, report.checked, report.problem) == (True, count, "")


# --- consents ------------------------------------------------------------------------------


async def test_consents_round_trip_and_the_first_withdrawal_is_kept(store: Store) -> None:
    given = consent()
    bare = consent("c-2", partner_ids=(), partner_kinds=(), given_at=T0.astimezone(_PLUS_2))
    await store.save_consent(given)
    await store.save_consent(bare)

    assert await store.get_consent("c-1") == given
    assert await store.get_consent("c-2") == bare
    assert await store.get_consent("no-such-consent") is None
    assert given.covers("insurer-b", "insurance")

    withdrawn = await store.withdraw_consent("c-1", T0 + timedelta(hours=1))
    assert withdrawn == replace(given, withdrawn_at=T0 + timedelta(hours=1))
    assert withdrawn is not None
    assert withdrawn.withdrawn_at is not None
    assert withdrawn.withdrawn_at.utcoffset() == timedelta(0)
    again = await store.withdraw_consent("c-1", T0 + timedelta(hours=2))
    assert again == withdrawn
    assert await store.get_consent("c-1") == withdrawn
    assert not withdrawn.covers("insurer-b", "insurance")
    assert await store.withdraw_consent("no-such-consent", T0) is None


async def test_a_consent_is_never_overwritten_and_times_must_be_aware(store: Store) -> None:
    await store.save_consent(consent())

    with pytest.raises(ValueError, match=r"."):
        await store.save_consent(consent(purpose="something_else"))
    with pytest.raises(ValueError, match="naive"):
        await store.save_consent(consent("c-2", given_at=datetime(2030, 1, 1)))
    with pytest.raises(ValueError, match="naive"):
        await store.withdraw_consent("c-1", datetime(2030, 1, 1))
    assert await store.get_consent("c-1") == consent()
    assert await store.get_consent("c-2") is None


async def test_consent_changes_are_audited_with_them(store: Store) -> None:
    await store.save_consent(consent(), audit=[record("c-1", "saved")])
    await store.withdraw_consent("c-1", T0, audit=[record("c-1", "withdrawn")])
    await store.withdraw_consent("c-1", T0, audit=[record("c-1", "withdrawn again")])
    await store.withdraw_consent("c-9", T0, audit=[record("c-9", "withdrawn")])
    with pytest.raises(ValueError, match=r"."):
        await store.save_consent(consent(), audit=[record("c-1", "saved twice")])

    entries = await whole_log(store)
    assert [e.record.outcome for e in entries] == ["saved", "withdrawn", "withdrawn again"]
    assert_one_chain(entries, 3)


# --- audit records with the state change they describe -------------------------------------


async def test_state_changes_append_their_audit_records_to_one_chain(store: Store) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    r = [disclosed(f"subject-{i}") for i in range(5)]
    r[4] = replace(r[4], subject="Zürich → Köln", fields=())

    await store.save_solution("sol-1", "partner-1", "fp", b"body", ("q-1", "h"), audit=[r[0]])
    created, _ = await store.create_order(order(), ("req-1", "h"), CREATED, audit=[r[1], r[2]])
    lease = await store.acquire_lease(created.order_id, "r1", ttl_s=30)
    assert lease is not None
    await store.save_progress(lease, state=OrderState.HOLDING, audit=[r[3]])
    await store.append_audit([r[4]])
    await store.append_audit([])

    entries = await whole_log(store)
    assert [e.record for e in entries] == r
    assert_one_chain(entries, 5)
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert entries[1].at == entries[2].at  # one transaction, one time
    assert all(e.at.utcoffset() == timedelta(0) for e in entries)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert start < entries[0].at < datetime.now(UTC) + timedelta(seconds=1)
    assert await store.audit_entries(2, 2) == entries[2:4]
    assert await store.audit_entries(5, 10) == []


async def test_replayed_requests_write_no_audit_records(store: Store) -> None:
    await store.save_solution(
        "sol-1", "partner-1", "fp", b"one", ("q-1", "h"), audit=[record("s1")]
    )
    earlier = await store.save_solution(
        "sol-2", "partner-1", "fp", b"two", ("q-1", "h"), audit=[record("s2")]
    )
    first, _ = await store.create_order(order(), ("req-1", "h"), CREATED, audit=[record("o1")])
    again, is_new = await store.create_order(order(), ("req-1", "h"), CREATED, audit=[record("o2")])

    assert earlier is not None
    assert (again, is_new) == (first, False)
    assert [e.record.subject for e in await whole_log(store)] == ["s1", "o1"]


async def test_concurrent_replays_audit_only_the_one_that_stores(store: Store) -> None:
    await asyncio.gather(
        *(
            store.save_solution(f"sol-{i}", "p", "fp", b"x", ("q-1", "h"), audit=[record(f"s{i}")])
            for i in range(10)
        ),
        *(
            store.create_order(order(), ("req-1", "h"), CREATED, audit=[record(f"o{i}")])
            for i in range(10)
        ),
    )

    entries = await whole_log(store)
    assert sorted(e.record.subject[0] for e in entries) == ["o", "s"]
    assert_one_chain(entries, 2)


async def test_refused_progress_writes_no_audit_record(store: Store) -> None:
    """The audit record shares the change's transaction: refused change, no record."""
    stored, _ = await store.create_order(order(), None, CREATED)
    lapsing = await store.acquire_lease(stored.order_id, "r1", ttl_s=0.05)
    assert lapsing is not None
    await asyncio.sleep(0.1)
    taken = await store.acquire_lease(stored.order_id, "r2", ttl_s=30)
    assert taken is not None

    with pytest.raises(LeaseLostError):
        await store.save_progress(lapsing, state=OrderState.FAILED, audit=[record("late")])
    with pytest.raises(ValueError, match="no component of kind"):
        await store.save_progress(taken, components=[component("boat")], audit=[record("boat")])
    assert await whole_log(store) == []

    await store.save_progress(taken, state=OrderState.HOLDING, audit=[record("held")])
    assert [e.record.subject for e in await whole_log(store)] == ["held"]


async def test_cancelled_calls_leave_each_change_with_its_audit_record_or_neither(
    store: Store,
) -> None:
    records = [order() for _ in range(30)]
    tasks = [
        asyncio.create_task(store.create_order(r, None, CREATED, audit=[record(r.order_id)]))
        for r in records
    ]
    for i, task in enumerate(tasks):
        if i % 3:
            await asyncio.sleep(0.0005 * i)
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    stored = {r.order_id for r in records if await store.get_order(r.order_id) is not None}
    entries = await whole_log(store)
    assert {e.record.subject for e in entries} == stored
    assert_one_chain(entries, len(stored))


# --- one chain, whatever the concurrency ---------------------------------------------------


async def test_concurrent_appenders_on_two_stores_keep_one_chain(open_store: OpenStore) -> None:
    """Two stores on one database: two processes on one SQLite file, or two replicas."""
    a, b = await open_store(), await open_store()
    leases = [(await leased(a))[1] for _ in range(10)]

    calls = [
        *((a if i % 2 else b).append_audit([record(f"a{i}"), record(f"a{i}+")]) for i in range(20)),
        *(
            (b if i % 2 else a).save_progress(
                lease,
                state=OrderState.HOLDING,
                step=SagaStep("car", StepKind.HOLD, StepPhase.STARTED, f"k{i}"),
                audit=[record(f"p{i}")],
            )
            for i, lease in enumerate(leases)
        ),
        *(
            (a if i % 2 else b).create_order(order(), None, CREATED, audit=[record(f"o{i}")])
            for i in range(10)
        ),
    ]
    await asyncio.gather(*calls)

    entries = await whole_log(a)
    assert len({e.record.subject for e in entries}) == 40 + 10 + 10
    assert_one_chain(entries, 60)
    assert await whole_log(b) == entries
    report = await verify_store(b, batch=7)
    assert (report.ok, report.checked, report.head_hash) == (True, 60, entries[-1].hash)


# --- the database itself guards the log ----------------------------------------------------

_REFUSED = (sqlite3.DatabaseError, psycopg.Error)


async def test_the_database_refuses_to_change_or_remove_audit_entries(
    store: Store, database: Database
) -> None:
    await store.append_audit([record("one"), record("two")])
    before = await whole_log(store)

    with pytest.raises(_REFUSED, match="append-only"):
        database.execute("UPDATE audit_log SET outcome = 'denied' WHERE seq = 1")
    with pytest.raises(_REFUSED, match="append-only"):
        database.execute("DELETE FROM audit_log WHERE seq = 2")
    if database.backend == "postgres":
        with pytest.raises(_REFUSED, match="append-only"):
            database.execute("TRUNCATE audit_log")

    assert await whole_log(store) == before
    await store.append_audit([record("three")])
    assert_one_chain(await whole_log(store), 3)


_DROP_GUARDS = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgres": ["DROP TRIGGER audit_log_append_only ON audit_log"],
}


@pytest.mark.parametrize(
    ("tampering", "bad_seq", "problem"),
    [
        ("UPDATE audit_log SET outcome = 'refused' WHERE seq = 3", 3, "hash does not match"),
        ("UPDATE audit_log SET values_hash = '' WHERE seq = 4", 4, "hash does not match"),
        ("UPDATE audit_log SET fields = '[]' WHERE seq = 2", 2, "hash does not match"),
        ("UPDATE audit_log SET prev_hash = hash WHERE seq = 5", 5, "does not link to entry 4"),
        ("DELETE FROM audit_log WHERE seq = 2", 2, "entry missing"),
        ("DELETE FROM audit_log WHERE seq = 1", 1, "entry missing"),
    ],
)
async def test_tampering_past_the_guards_is_found_by_verify(
    store: Store, database: Database, tampering: str, bad_seq: int, problem: str
) -> None:
    """As someone with write access to the database would: drop the triggers, then edit."""
    await store.append_audit([disclosed(f"ord-{i}") for i in range(6)])
    assert len(await whole_log(store)) == 6
    assert (await verify_store(store)).ok
    for statement in _DROP_GUARDS[database.backend]:
        database.execute(statement)

    database.execute(tampering)

    report = await verify_store(store, batch=2)
    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert problem in report.problem
    assert report.checked == bad_seq - 1


# --- personal data waiting for the hold, and the consent it goes under ---------------------


async def test_disclosure_and_consent_id_round_trip_and_the_disclosure_is_erased(
    store: Store,
) -> None:
    data = json.dumps({"travellers": [{"given_name": "Zoë", "family_name": "Ødegård"}]})
    waiting = replace(component("flight"), disclosure=data)
    new = replace(
        order(),
        consent_id=f"c-{uuid.uuid4().hex[:6]}",
        components=(waiting, component("insurance"), component("car")),
    )
    created, _ = await store.create_order(new, None, CREATED)

    assert created == new
    assert await store.get_order(new.order_id) == new
    assert await store.list_orders(new.owner, 10, None) == [new]

    lease = await store.acquire_lease(new.order_id, "r1", ttl_s=30)
    assert lease is not None
    erased = replace(waiting, hold_id="H-1", disclosure=None)
    car = replace(component("car"), disclosure='{"driver": "x"}')
    saved = await store.save_progress(lease, components=[erased, car])

    assert saved.component("flight").disclosure is None
    assert saved.component("car").disclosure == '{"driver": "x"}'
    assert saved.component("insurance").disclosure is None
    assert saved.consent_id == new.consent_id
    assert await store.get_order(new.order_id) == saved


async def test_an_order_without_a_consent_has_an_empty_consent_id(store: Store) -> None:
    stored, _ = await store.create_order(order(), None, CREATED)
    loaded = await store.get_order(stored.order_id)
    assert loaded is not None
    assert (loaded.consent_id, [c.disclosure for c in loaded.components]) == ("", [None] * 3)
