"""Personal data waiting for a hold is kept sealed (AES-256-GCM, a key ring the database never
sees), so erasing it leaves no readable copy on disk: every test runs on SQLite and on
PostgreSQL, and the disk tests read the database's files byte by byte."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import replace

import pytest

from gateway.model import OrderRecord
from gateway.storage import DataCipher, DataKeyError, PostgresStore, SqliteStore
from tests.disk_scan import PostgresDisk, leftovers, sqlite_files
from tests.gateway.storage.conftest import Database, OpenStore, Store
from tests.gateway.storage.test_store_contract import CREATED, component, order


def personal_values() -> dict[str, str]:
    """One traveller's values, unique to the test, so finding one on disk means this test's."""
    tag = secrets.token_hex(4).upper()
    return {
        "given_name": f"Zoeline{tag}",
        "family_name": f"Oddgard{tag}",
        "birth_date": f"1931-02-{secrets.randbelow(9) + 10}T{tag}",
        "passport_number": f"P{tag}77",
        "driving_licence_number": f"DL{tag}42",
        "subscriber_number": f"+4479{secrets.randbelow(10**8):08d}",
    }


def waiting_order(values: dict[str, str]) -> OrderRecord:
    """An order whose flight and car wait for their holds, with the travellers' data."""
    data = json.dumps([values])
    return replace(
        order(),
        consent_id="c-1",
        components=(
            replace(component("flight"), disclosure=data),
            replace(component("car"), disclosure=data),
            component("insurance"),
        ),
    )


async def erase_all(store: Store, placed: OrderRecord) -> None:
    """What the saga does once the holds are answered: the data goes."""
    lease = await store.acquire_lease(placed.order_id, "r1", ttl_s=30)
    assert lease is not None
    answered = [replace(c, hold_id=f"H-{c.kind}", disclosure=None) for c in placed.components]
    saved = await store.save_progress(lease, components=answered[:2])
    assert all(c.disclosure is None for c in saved.components)


async def test_the_store_keeps_personal_data_only_sealed(store: Store, database: Database) -> None:
    values = personal_values()
    placed = waiting_order(values)

    created, _ = await store.create_order(placed, None, CREATED)

    assert created == placed  # the store's user sees the data as it gave it
    assert await store.get_order(placed.order_id) == placed
    assert await store.list_orders(placed.owner, 10, None) == [placed]
    raw = database.execute("SELECT kind, disclosure FROM order_components ORDER BY kind")
    stored = dict(raw)
    assert stored["insurance"] is None
    for kind in ("car", "flight"):
        assert stored[kind].startswith("v1.test-key.")
        assert not any(value in stored[kind] for value in values.values())
    assert stored["car"] != stored["flight"]  # a fresh nonce for every value


async def test_a_sealed_value_opens_only_in_its_own_row(store: Store, database: Database) -> None:
    first = await store.create_order(waiting_order(personal_values()), None, CREATED)
    second = await store.create_order(waiting_order(personal_values()), None, CREATED)
    a, b = first[0].order_id, second[0].order_id
    if database.backend == "sqlite":
        database.execute(
            "UPDATE order_components SET disclosure = (SELECT disclosure FROM order_components"
            f" WHERE order_id = '{a}' AND kind = 'flight')"
            f" WHERE order_id = '{b}' AND kind = 'flight'"
        )
    else:
        database.execute(
            "UPDATE order_components AS t SET disclosure = s.disclosure FROM order_components s"
            f" WHERE s.order_id = '{a}' AND s.kind = 'flight'"
            f" AND t.order_id = '{b}' AND t.kind = 'flight'"
        )

    with pytest.raises(DataKeyError, match="does not authenticate"):
        await store.get_order(b)
    assert await store.get_order(a) == first[0]


async def test_keys_rotate_old_data_opens_new_data_uses_the_new_key(
    database: Database, cipher: DataCipher
) -> None:
    old_key = secrets.token_bytes(32)
    new_key = secrets.token_bytes(32)

    async def opened(keys: dict[str, bytes], active: str) -> Store:
        ring = DataCipher(keys, active)
        if database.path is not None:
            return await SqliteStore.open(database.path, cipher=ring)
        return await PostgresStore.open(database.dsn, schema=database.schema, cipher=ring)

    before = await opened({"k1": old_key}, "k1")
    try:
        earlier, _ = await before.create_order(waiting_order(personal_values()), None, CREATED)
    finally:
        await before.aclose()

    rotated = await opened({"k1": old_key, "k2": new_key}, "k2")
    try:
        assert await rotated.get_order(earlier.order_id) == earlier
        later, _ = await rotated.create_order(waiting_order(personal_values()), None, CREATED)
    finally:
        await rotated.aclose()
    kinds = database.execute(
        f"SELECT disclosure FROM order_components WHERE order_id = '{later.order_id}'"
        " AND disclosure IS NOT NULL"
    )
    assert all(value.startswith("v1.k2.") for (value,) in kinds)

    retired = await opened({"k2": new_key}, "k2")
    try:
        assert await retired.get_order(later.order_id) == later
        with pytest.raises(DataKeyError, match="'k1'"):
            await retired.get_order(earlier.order_id)
    finally:
        await retired.aclose()


async def test_a_store_without_a_key_ring_refuses_personal_data(database: Database) -> None:
    if database.path is not None:
        bare: Store = await SqliteStore.open(database.path)
    else:
        bare = await PostgresStore.open(database.dsn, schema=database.schema)
    try:
        with pytest.raises(ValueError, match="no data key ring"):
            await bare.create_order(waiting_order(personal_values()), None, CREATED)
        plain, _ = await bare.create_order(order(), None, CREATED)  # nothing personal: fine
        assert await bare.get_order(plain.order_id) == plain
    finally:
        await bare.aclose()


async def test_after_erasure_no_personal_value_is_left_on_disk(
    open_store: OpenStore, database: Database
) -> None:
    """While the store is open (SQLite's WAL not yet checkpointed; PostgreSQL's dead tuples
    not yet vacuumed), read every byte the database has written."""
    disk = None
    if database.backend == "postgres":
        disk = PostgresDisk.of(database.dsn)
        if not disk.readable():
            pytest.skip(f"PostgreSQL's data directory {disk.data_directory} is not readable")
        since = disk.wal_position()
    store = await open_store()
    values = personal_values()
    orders = [waiting_order(values) for _ in range(3)]
    for placed in orders:
        await store.create_order(placed, None, CREATED)
    for placed in orders:
        await erase_all(store, placed)

    if disk is None:
        assert database.path is not None
        files = sqlite_files(database.path)
        assert files[1].stat().st_size > 0, "the test means to read a WAL with the writes in it"
    else:
        files = [*disk.schema_files(database.schema), *disk.wal_files(since)]
    assert len(files) >= 3
    assert leftovers(files, values.values()) == {}
    # The same scan does find what is written in clear: it can fail.
    await store.save_solution(f"sol-{uuid.uuid4().hex}", "p", values["passport_number"], b"", None)
    if disk is not None:
        files = [*disk.schema_files(database.schema), *disk.wal_files(since)]
    assert values["passport_number"] in leftovers(files, values.values())
