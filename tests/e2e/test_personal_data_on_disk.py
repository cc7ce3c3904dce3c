"""A booking through real gRPC to real sandbox partners, on SQLite and on PostgreSQL: once the
holds are answered and the travellers' data erased, none of it is left readable on disk —
not in the SQLite file or its WAL while the gateway runs, not in PostgreSQL's data files
(where erased rows stay as dead tuples until a vacuum) nor in its WAL."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from gateway.client.channels import open_channel
from gateway.client.journeys import book_request
from gateway.runtime import running_gateway
from gateway.settings import GatewaySettings, StorageSettings
from partnergateway.v1 import order_pb2, order_service_pb2_grpc
from tests.disk_scan import PostgresDisk, leftovers, sqlite_files
from tests.e2e.booking_support import PLAN, compose_solution, final_order
from tests.support import Stub, partner_tokens


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_no_personal_value_is_left_on_disk_after_erasure(
    backend: str,
    gateway_settings: GatewaySettings,
    stub: Stub,  # the sandbox partners fast and healthy
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    storage = StorageSettings()
    disk: PostgresDisk | None = None
    if backend == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        schema = request.getfixturevalue("postgres_schema")
        storage = StorageSettings(dsn=dsn, pg_schema=schema)
        disk = PostgresDisk.of(dsn)
        if not disk.readable():
            pytest.skip(f"PostgreSQL's data directory {disk.data_directory} is not readable")
        since = disk.wal_position()
    settings = gateway_settings.model_copy(
        update={"state_dir": tmp_path / "state", "storage": storage}
    )

    async with (
        running_gateway(settings, "127.0.0.1:0") as gateway,
        open_channel(gateway.target, tokens=partner_tokens(settings, gateway)) as channel,
    ):
        solution = await compose_solution(channel)
        booking = book_request(solution.solution_id, PLAN, "disk-1", solution.entry.partner_id)
        tag = secrets.token_hex(4).upper()
        for i, traveller in enumerate(booking.travellers):  # values found nowhere else
            traveller.given_name = f"Gwendolyn{tag}{i}"
            traveller.family_name = f"Quarrington{tag}{i}"
            traveller.passport_number = f"Q{tag}{i}9"
            if traveller.driving_licence_number:
                traveller.driving_licence_number = f"L{tag}{i}8"
            if traveller.phone_number:
                traveller.phone_number = f"+4479{secrets.randbelow(10**8):08d}"
        values = {
            value
            for t in booking.travellers
            for value in (
                t.given_name,
                t.family_name,
                t.passport_number,
                t.driving_licence_number,
                t.phone_number,
            )
            if value
        }
        placed = await order_service_pb2_grpc.OrderServiceStub(channel).BookSolution(
            booking, timeout=30
        )
        order = await final_order(channel, placed.order.order_id, solution.entry.partner_id)
        assert order.state == order_pb2.ORDER_STATE_CONFIRMED, order

        if disk is None:
            files = sqlite_files(settings.state_dir / "gateway.sqlite3")
            assert files[1].stat().st_size > 0  # the WAL, with every write of the booking
        else:
            files = [*disk.schema_files(storage.pg_schema), *disk.wal_files(since)]
        found = leftovers(files, values)

    assert found == {}, f"personal values readable on disk: {found}"
