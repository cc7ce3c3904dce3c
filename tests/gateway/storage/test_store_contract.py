"""The store contract: every test runs on SQLite and on PostgreSQL, and both must agree."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gateway.model import (
    ComponentRecord,
    ComponentState,
    Lease,
    NewEvent,
    OrderRecord,
    OrderState,
    SagaStep,
    StepKind,
    StepPhase,
    StoredOrderRequest,
    StoredRequest,
)
from gateway.storage import LeaseLostError, OrderStore, PostgresStore, SolutionStore, SqliteStore
from tests.gateway.storage.conftest import OpenStore, Store

T0 = datetime(2030, 5, 1, 9, 30, tzinfo=UTC)
CREATED = NewEvent("order_created", {"components": ["flight", "insurance"]})


def _conforms(a: SqliteStore, b: PostgresStore) -> list[OrderStore | SolutionStore]:
    """Checked by mypy, never run: both backends implement both protocols."""
    return [a, a, b, b]


def component(
    kind: str,
    *,
    state: ComponentState = ComponentState.PENDING,
    hold_id: str | None = None,
    base: str = "100.00",
) -> ComponentRecord:
    return ComponentRecord(
        kind=kind,
        partner_id=f"{kind}-a",
        offer_id=f"offer-{kind}",
        currency_code="EUR",
        base=base,
        tax="19.00",
        state=state,
        hold_id=hold_id,
    )


def order(
    owner: str = "partner-1",
    *,
    created_at: datetime = T0,
    state: OrderState = OrderState.PENDING,
    order_id: str | None = None,
) -> OrderRecord:
    return OrderRecord(
        order_id=order_id or f"ord-{uuid.uuid4().hex[:12]}",
        owner=owner,
        solution_id="sol-1",
        state=state,
        accept_partial=False,
        components=(component("flight"), component("insurance"), component("car")),
        created_at=created_at,
        updated_at=created_at,
    )


async def leased(store: Store, record: OrderRecord | None = None) -> tuple[OrderRecord, Lease]:
    """A stored order and a lease on it for replica `r1`."""
    stored, _ = await store.create_order(record or order(), None, CREATED)
    lease = await store.acquire_lease(stored.order_id, "r1", ttl_s=30)
    assert lease is not None
    return stored, lease


# --- orders and request ids --------------------------------------------------------------


async def test_create_then_get_returns_the_same_order(store: Store) -> None:
    new = order()
    created, is_new = await store.create_order(new, ("req-1", "hash-1"), CREATED)

    assert is_new
    assert created == new
    assert await store.get_order(new.order_id) == new
    assert await store.get_order("no-such-order") is None
    [event] = await store.events(new.order_id, 0, 10)
    assert (event.order_id, event.seq, event.type) == (new.order_id, 1, "order_created")
    assert event.payload == {"components": ["flight", "insurance"]}
    assert event.at.utcoffset() == timedelta(0)


async def test_a_reused_request_id_returns_the_earlier_order_and_stores_nothing(
    store: Store,
) -> None:
    first, _ = await store.create_order(order(), ("req-1", "hash-1"), CREATED)
    replay = order()
    again, is_new = await store.create_order(replay, ("req-1", "hash-2"), CREATED)

    assert not is_new
    assert again == first
    assert await store.get_order(replay.order_id) is None
    assert await store.find_order_request("partner-1", "req-1") == StoredOrderRequest(
        request_hash="hash-1", order_id=first.order_id
    )
    assert await store.find_order_request("partner-1", "req-2") is None
    # Request ids are per owner: another partner may use the same one.
    other, is_new = await store.create_order(order("partner-2"), ("req-1", "hash-1"), CREATED)
    assert is_new
    assert other.owner == "partner-2"


async def test_concurrent_creates_of_one_request_id_store_exactly_one_order(
    store: Store,
) -> None:
    results = await asyncio.gather(
        *(store.create_order(order(), ("req-1", "hash-1"), CREATED) for _ in range(10))
    )

    assert sum(is_new for _, is_new in results) == 1
    assert len({o.order_id for o, _ in results}) == 1
    assert len(await store.list_orders("partner-1", 100, None)) == 1


async def test_concurrent_creates_of_one_request_and_order_id_store_exactly_one(
    store: Store,
) -> None:
    """As when the order id is derived from the request id."""
    results = await asyncio.gather(
        *(
            store.create_order(order(order_id="ord-r1"), ("req-1", "hash-1"), CREATED)
            for _ in range(10)
        )
    )

    assert sorted(is_new for _, is_new in results) == [False] * 9 + [True]
    assert {o.order_id for o, _ in results} == {"ord-r1"}


async def test_an_order_without_a_request_id_is_always_new(store: Store) -> None:
    a, a_new = await store.create_order(order(), None, CREATED)
    b, b_new = await store.create_order(order(), None, CREATED)
    assert a_new
    assert b_new
    assert a.order_id != b.order_id


async def test_a_repeated_order_id_or_kind_or_a_naive_time_is_refused(store: Store) -> None:
    first, _ = await store.create_order(order(), None, CREATED)
    with pytest.raises(ValueError, match=r"."):
        await store.create_order(order(order_id=first.order_id), None, CREATED)
    twice = replace(order(), components=(component("flight"), component("flight")))
    with pytest.raises(ValueError, match="repeat"):
        await store.create_order(twice, None, CREATED)
    with pytest.raises(ValueError, match="naive"):
        await store.create_order(order(created_at=datetime(2030, 1, 1)), None, CREATED)
    assert [o.order_id for o in await store.list_orders("partner-1", 10, None)] == [first.order_id]


# --- progress ------------------------------------------------------------------------------


async def test_save_progress_applies_everything_in_one_step(store: Store) -> None:
    before, lease = await leased(store)
    held = component("insurance", state=ComponentState.HELD, hold_id="H-1", base="90.00")
    hold = SagaStep("insurance", StepKind.HOLD, StepPhase.SUCCEEDED, "idem-1")
    start = datetime.now(UTC)

    saved = await store.save_progress(
        lease,
        state=OrderState.HOLDING,
        components=[held],
        step=hold,
        events=[NewEvent("component_held", {"kind": "insurance"}), NewEvent("note")],
    )

    assert saved.state == OrderState.HOLDING
    assert saved.version == 2
    # The store's clock stamps the change (the database's, for PostgreSQL: same machine here).
    assert abs(saved.updated_at - start) < timedelta(seconds=5)
    assert saved.created_at == before.created_at
    assert [c.kind for c in saved.components] == ["flight", "insurance", "car"]
    assert saved.component("insurance") == held
    assert saved.component("flight") == before.component("flight")
    assert await store.get_order(before.order_id) == saved
    events = await store.events(before.order_id, 0, 10)
    assert [(e.seq, e.type) for e in events] == [
        (1, "order_created"),
        (2, "component_held"),
        (3, "note"),
    ]
    assert events[2].payload == {}
    assert await store.steps(before.order_id) == [hold]

    confirm = SagaStep(
        "flight", StepKind.CONFIRM, StepPhase.FAILED, "idem-2", detail="partner said no"
    )
    again = await store.save_progress(lease, step=confirm, events=[NewEvent("confirm_failed")])
    assert (again.state, again.version) == (OrderState.HOLDING, 3)
    assert await store.steps(before.order_id) == [hold, confirm]
    assert [e.seq for e in await store.events(before.order_id, 0, 10)] == [1, 2, 3, 4]


async def test_save_progress_with_an_unknown_component_kind_applies_nothing(
    store: Store,
) -> None:
    before, lease = await leased(store)

    with pytest.raises(ValueError, match="no component of kind 'boat'"):
        await store.save_progress(
            lease,
            state=OrderState.HOLDING,
            components=[component("flight", state=ComponentState.HELD), component("boat")],
            step=SagaStep("flight", StepKind.HOLD, StepPhase.STARTED, "idem-1"),
            events=[NewEvent("component_held")],
        )

    assert await store.get_order(before.order_id) == before
    assert len(await store.events(before.order_id, 0, 10)) == 1
    assert await store.steps(before.order_id) == []


async def test_event_pages_follow_the_sequence(store: Store) -> None:
    stored, lease = await leased(store)
    payload = {"n": 1, "nested": {"list": [1, "two", None]}, "text": "Zürich → Köln"}
    await store.save_progress(lease, events=[NewEvent(f"e{i}", payload) for i in range(5)])

    pages = [await store.events(stored.order_id, after, 2) for after in (0, 2, 4, 6)]

    assert [[e.seq for e in page] for page in pages] == [[1, 2], [3, 4], [5, 6], []]
    assert pages[1][0].payload == payload
    assert await store.events("no-such-order", 0, 10) == []


# --- leases --------------------------------------------------------------------------------


async def test_a_lease_is_taken_once_renewed_by_its_holder_and_refused_to_others(
    store: Store,
) -> None:
    stored, _ = await store.create_order(order(), None, CREATED)
    start = datetime.now(UTC)

    lease = await store.acquire_lease(stored.order_id, "r1", ttl_s=30)
    assert lease is not None
    assert (lease.order_id, lease.holder, lease.token) == (stored.order_id, "r1", 1)
    assert start + timedelta(seconds=25) < lease.expires_at < start + timedelta(seconds=35)

    assert await store.acquire_lease(stored.order_id, "r2", ttl_s=30) is None
    again = await store.acquire_lease(stored.order_id, "r1", ttl_s=60)
    assert again is not None
    assert again.token == 1
    assert again.expires_at > lease.expires_at

    renewed = await store.renew_lease(again, ttl_s=120)
    assert (renewed.holder, renewed.token) == ("r1", 1)
    assert renewed.expires_at > again.expires_at


async def test_an_expired_lease_passes_to_a_new_holder_and_fences_the_old_one(
    store: Store,
) -> None:
    stored, _ = await store.create_order(order(), None, CREATED)
    old = await store.acquire_lease(stored.order_id, "r1", ttl_s=0.05)
    assert old is not None
    await asyncio.sleep(0.1)

    new = await store.acquire_lease(stored.order_id, "r2", ttl_s=30)

    assert new is not None
    assert (new.holder, new.token) == ("r2", old.token + 1)
    with pytest.raises(LeaseLostError):
        await store.save_progress(old, state=OrderState.FAILED, events=[NewEvent("late")])
    with pytest.raises(LeaseLostError):
        await store.renew_lease(old, ttl_s=30)
    await store.release_lease(old)  # a lost lease is left alone…
    assert await store.acquire_lease(stored.order_id, "r1", ttl_s=30) is None  # …still r2's
    after = await store.get_order(stored.order_id)
    assert after == stored
    saved = await store.save_progress(new, state=OrderState.HOLDING)
    assert saved.version == 2


async def test_a_lapsed_lease_is_lost_until_its_holder_takes_it_again(store: Store) -> None:
    stored, _ = await store.create_order(order(), None, CREATED)
    lease = await store.acquire_lease(stored.order_id, "r1", ttl_s=0.05)
    assert lease is not None
    await asyncio.sleep(0.1)

    with pytest.raises(LeaseLostError):
        await store.save_progress(lease, state=OrderState.HOLDING)
    with pytest.raises(LeaseLostError):
        await store.renew_lease(lease, ttl_s=30)
    back = await store.acquire_lease(stored.order_id, "r1", ttl_s=30)
    assert back is not None
    assert back.token == lease.token  # nobody else held it in between
    assert (await store.save_progress(back, state=OrderState.HOLDING)).version == 2


async def test_a_released_lease_is_free_for_the_next_holder(store: Store) -> None:
    stored, lease = await leased(store)

    await store.release_lease(lease)

    with pytest.raises(LeaseLostError):
        await store.save_progress(lease, state=OrderState.HOLDING)
    nxt = await store.acquire_lease(stored.order_id, "r2", ttl_s=30)
    assert nxt is not None
    assert nxt.token == lease.token + 1


async def test_a_lease_nobody_acquired_or_on_no_order_is_refused(store: Store) -> None:
    stored, _ = await store.create_order(order(), None, CREATED)
    forged = Lease(stored.order_id, "r1", 1, datetime.now(UTC) + timedelta(minutes=1))

    with pytest.raises(LeaseLostError):
        await store.save_progress(forged, state=OrderState.HOLDING)
    with pytest.raises(LeaseLostError):
        await store.renew_lease(forged, ttl_s=30)
    await store.release_lease(forged)
    with pytest.raises(ValueError, match="no order"):
        await store.acquire_lease("no-such-order", "r1", ttl_s=30)


async def test_concurrent_acquires_have_exactly_one_winner(store: Store) -> None:
    stored, _ = await store.create_order(order(), None, CREATED)

    leases = await asyncio.gather(
        *(store.acquire_lease(stored.order_id, f"r{i}", ttl_s=30) for i in range(10))
    )

    winners = [lease for lease in leases if lease is not None]
    assert len(winners) == 1
    assert winners[0].token == 1


async def test_two_replicas_racing_for_a_lease_have_exactly_one_winner(
    open_store: OpenStore,
) -> None:
    """Two stores on one database, as two replicas (or processes) would open them."""
    a, b = await open_store(), await open_store()
    stored, _ = await a.create_order(order(), None, CREATED)

    first = await asyncio.gather(
        *((a if i % 2 else b).acquire_lease(stored.order_id, f"r{i}", ttl_s=30) for i in range(10))
    )
    won_first = [lease for lease in first if lease is not None]
    assert len(won_first) == 1
    # The winner shortens its lease and lets it lapse: now it is up for grabs again.
    short = await a.acquire_lease(stored.order_id, won_first[0].holder, ttl_s=0.05)
    assert short is not None
    assert short.token == won_first[0].token
    await asyncio.sleep(0.1)
    second = await asyncio.gather(
        *((a if i % 2 else b).acquire_lease(stored.order_id, f"s{i}", ttl_s=30) for i in range(10))
    )

    won_second = [lease for lease in second if lease is not None]
    assert len(won_second) == 1
    assert won_second[0].token == won_first[0].token + 1
    with pytest.raises(LeaseLostError):
        await a.save_progress(won_first[0], state=OrderState.HOLDING)
    saved = await b.save_progress(won_second[0], state=OrderState.HOLDING)
    assert await a.get_order(stored.order_id) == saved


# --- queries ---------------------------------------------------------------------------------


async def test_list_orders_pages_one_owner_by_creation_time(store: Store) -> None:
    mine = [order(created_at=T0 + timedelta(seconds=s)) for s in (4, 0, 3, 1, 2)]
    mine.append(order(created_at=T0 + timedelta(seconds=2)))  # same time: the id decides
    theirs = [order("partner-2", created_at=T0 + timedelta(seconds=s)) for s in (0, 2, 5)]
    for record in [*mine, *theirs]:
        await store.create_order(record, None, CREATED)

    pages: list[list[OrderRecord]] = []
    after: tuple[datetime, str] | None = None
    while page := await store.list_orders("partner-1", 4, after):
        pages.append(page)
        after = (page[-1].created_at, page[-1].order_id)

    assert [len(page) for page in pages] == [4, 2]
    listed = [o.order_id for page in pages for o in page]
    assert listed == [o.order_id for o in sorted(mine, key=lambda o: (o.created_at, o.order_id))]
    assert pages[0][0] == next(o for o in mine if o.created_at == T0)
    assert await store.list_orders("partner-3", 4, None) == []


async def test_unfinished_orders_are_the_oldest_not_yet_final(store: Store) -> None:
    states = [
        OrderState.CONFIRMED,
        OrderState.PENDING,
        OrderState.FAILED,
        OrderState.COMPENSATING,
        OrderState.NEEDS_ATTENTION,
        OrderState.HOLDING,
        OrderState.CANCELLED,
        OrderState.CANCELLING,
        OrderState.COMPENSATED,
        OrderState.PARTIALLY_CONFIRMED,
        OrderState.CONFIRMING,
    ]
    records = [
        order(state=state, created_at=T0 - timedelta(minutes=i)) for i, state in enumerate(states)
    ]
    for record in records:
        await store.create_order(record, None, CREATED)
    open_ones = [r for r in reversed(records) if r.state in _UNFINISHED]

    assert await store.unfinished_orders(100) == [r.order_id for r in open_ones]
    assert await store.unfinished_orders(2) == [r.order_id for r in open_ones[:2]]

    lease = await store.acquire_lease(open_ones[0].order_id, "r1", ttl_s=30)
    assert lease is not None
    await store.save_progress(lease, state=OrderState.CONFIRMED)
    assert await store.unfinished_orders(100) == [r.order_id for r in open_ones[1:]]


_UNFINISHED = {
    OrderState.PENDING,
    OrderState.HOLDING,
    OrderState.CONFIRMING,
    OrderState.COMPENSATING,
    OrderState.CANCELLING,
}


# --- solutions (SolutionStore) -------------------------------------------------------------


async def test_solutions_are_saved_loaded_and_deduplicated_by_request(store: Store) -> None:
    assert await store.save_solution("sol-1", "partner-1", "fp", b"\x00body", None) is None
    assert await store.load_solution("sol-1") == b"\x00body"
    assert await store.load_solution("sol-x") is None

    assert await store.save_solution("sol-2", "partner-1", "fp", b"two", ("r1", "h1")) is None
    earlier = await store.save_solution("sol-3", "partner-1", "fp", b"three", ("r1", "h2"))

    assert earlier == StoredRequest(request_hash="h1", solution_id="sol-2")
    assert await store.find_request("partner-1", "r1") == earlier
    assert await store.find_request("partner-2", "r1") is None
    assert await store.load_solution("sol-3") is None


async def test_concurrent_solutions_for_one_request_keep_the_first(store: Store) -> None:
    results = await asyncio.gather(
        *(store.save_solution(f"sol-{i}", "partner-1", "fp", b"x", ("r1", "h1")) for i in range(10))
    )

    assert results.count(None) == 1
    winner = await store.find_request("partner-1", "r1")
    assert winner is not None
    assert all(r == winner for r in results if r is not None)
    saved = [i for i in range(10) if await store.load_solution(f"sol-{i}") is not None]
    assert [f"sol-{i}" for i in saved] == [winner.solution_id]


# --- migrations ----------------------------------------------------------------------------


async def test_opening_again_migrates_nothing_and_keeps_the_data(open_store: OpenStore) -> None:
    first = await open_store()
    stored, _ = await first.create_order(order(), ("req-1", "h"), CREATED)
    await first.aclose()

    again = await open_store()

    assert await again.get_order(stored.order_id) == stored
    assert (await again.find_order_request("partner-1", "req-1")) is not None


async def test_stores_opening_at_once_on_a_new_database_all_work(open_store: OpenStore) -> None:
    stores = await asyncio.gather(*(open_store() for _ in range(4)))

    created = [await s.create_order(order(), None, CREATED) for s in stores]

    for s in stores:
        assert len(await s.list_orders("partner-1", 10, None)) == len(created)


# --- cancellation ----------------------------------------------------------------------------


async def test_cancelled_calls_leave_whole_orders_or_none(store: Store) -> None:
    """Deadlines cancel storage calls midway; the store must stay whole and usable."""
    records = [order() for _ in range(30)]
    tasks = [asyncio.create_task(store.create_order(r, None, CREATED)) for r in records]
    for i, task in enumerate(tasks):
        if i % 3:
            await asyncio.sleep(0.0005 * i)  # cancel at every stage: queued, running, done
            task.cancel()

    results = await asyncio.gather(*tasks, return_exceptions=True)

    errors = [r for r in results if not isinstance(r, tuple | asyncio.CancelledError)]
    assert errors == []
    for record in records:
        found = await store.get_order(record.order_id)
        assert found in (None, record)
        assert len(await store.events(record.order_id, 0, 10)) == (found is not None)
    assert (await store.create_order(order(), None, CREATED))[1]
