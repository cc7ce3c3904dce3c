"""Two gateway replicas on one PostgreSQL, recovering the same unfinished orders at once:
the leases make each saga run exactly once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import grpc

from gateway.booking.service import new_order
from gateway.client.journeys import book_request
from gateway.model import FINAL_STATES, ConsentRecord, NewEvent, OrderRecord, OrderState
from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import GatewaySettings, StorageSettings
from gateway.storage import PostgresStore
from partnergateway.v1 import solution_pb2
from tests.e2e.booking_support import PLAN, calls, compose_solution
from tests.support import SandboxControl, Stub


def pending_order(
    solution: solution_pb2.Solution, consent: ConsentRecord, kinds: dict[str, str]
) -> OrderRecord:
    """The order BookSolution would store for `solution` (saga not started)."""
    request = book_request(solution.solution_id, PLAN, "replica", solution.entry.partner_id)
    return new_order(request, solution, kinds, consent)


async def all_final(store: PostgresStore, orders: list[OrderRecord]) -> bool:
    current = [await store.get_order(o.order_id) for o in orders]
    return all(o is not None and o.state in FINAL_STATES for o in current)


async def test_two_replicas_recovering_at_once_run_each_saga_once(
    gateway_settings: GatewaySettings,
    gateway: RunningGateway,
    channel: grpc.aio.Channel,
    control: SandboxControl,
    stub: Stub,
    postgres_dsn: str,
    postgres_schema: str,
) -> None:
    # Orders a dead replica left behind: stored, their sagas never started.
    # The replicas' key ring: the orders' personal data is sealed with it.
    cipher = gateway_settings.storage.data_cipher(gateway_settings.state_dir)
    store = await PostgresStore.open(postgres_dsn, schema=postgres_schema, cipher=cipher)
    orders = []
    for _ in range(6):
        solution = await compose_solution(channel)
        await store.save_solution(
            solution.solution_id,
            solution.entry.partner_id,
            solution.fingerprint,
            solution.SerializeToString(),
            None,
        )
        consent = await gateway.store.get_consent(solution.consent_id)
        assert consent is not None
        await store.save_consent(consent)
        order, _ = await store.create_order(
            pending_order(solution, consent, gateway.directory.kinds),
            None,
            NewEvent("order_created"),
        )
        orders.append(order)

    def replica(name: str) -> GatewaySettings:
        return gateway_settings.model_copy(
            update={
                "storage": StorageSettings(dsn=postgres_dsn, pg_schema=postgres_schema),
                "booking": gateway_settings.booking.model_copy(update={"replica_id": name}),
            }
        )

    try:
        async with (
            running_gateway(replica("r1"), "127.0.0.1:0"),
            running_gateway(replica("r2"), "127.0.0.1:0"),
        ):
            async with asyncio.timeout(30):
                # Both replicas work in the background; the store is the only witness.
                while not await all_final(store, orders):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
        finals = [await store.get_order(o.order_id) for o in orders]
    finally:
        await store.aclose()

    for final in finals:
        assert final is not None
        assert final.state == OrderState.CONFIRMED
        for c in final.components:
            assert await calls(control, c.partner_id, final.order_id, "hold") == [201]
            assert await calls(control, c.partner_id, final.order_id, "confirm") == [200]
    assert all(Decimal(c.base) > 0 for o in finals if o for c in o.components)
