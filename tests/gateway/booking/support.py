"""A booking saga on in-memory fake partners (`adapters.testing`) and a SQLite file: the
saga's decisions tested in milliseconds, without servers."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.protobuf import timestamp_pb2

from adapters import PartnerAdapter, PartnerConfig
from adapters.testing import FakeAdapter, FakePartner, offer
from gateway.booking import OrderNotifier, SagaRunner, SagaSettings
from gateway.model import ComponentRecord, ConsentRecord, NewEvent, OrderRecord, OrderState
from gateway.partners import PartnerDirectory
from gateway.privacy import Disclosure
from gateway.storage import DataCipher, SqliteStore
from partnergateway.v1 import solution_pb2

# Short budgets keep the "slower than the step timeout" cases quick.
SETTINGS = SagaSettings(step_timeout_s=0.05, lease_ttl_s=5.0, undo_attempts=3)
OWNER = "telecom-cn"
# The components, in recipe order, and who sells them.
PARTNERS = {"flight": ("airline-a", "airline"), "car": ("car-a", "car_rental")}
TRAVELLERS = {
    "flight": ({"given_name": "Mei", "family_name": "Li", "passport_number": "E12345678"},),
    "car": ({"given_name": "Mei", "family_name": "Li", "driving_licence_number": "DL-1"},),
}


def config(partner_id: str, kind: str) -> PartnerConfig:
    return PartnerConfig(
        partner_id=partner_id,
        kind=kind,
        name=partner_id,
        base_url="http://fake.test",
        token_url="http://fake.test/token",
        client_id="gateway",
        client_secret="secret",
    )


@dataclass
class World:
    """The store, the fake partners and their adapters, and a saga runner over them."""

    store: SqliteStore
    partners: dict[str, FakePartner]
    adapters: dict[str, FakeAdapter]
    wrapped: dict[str, PartnerAdapter] = field(default_factory=dict)
    """Adapters as the saga sees them, where a test wraps one (a guard)."""

    def runner(self, settings: SagaSettings = SETTINGS) -> SagaRunner:
        directory = PartnerDirectory(
            (config(pid, a.kind), self.wrapped.get(pid, a)) for pid, a in self.adapters.items()
        )
        return SagaRunner(self.store, directory, {}, "replica-1", OrderNotifier(), settings)

    def partner(self, kind: str) -> FakePartner:
        return self.partners[PARTNERS[kind][0]]

    def adapter(self, kind: str) -> FakeAdapter:
        return self.adapters[PARTNERS[kind][0]]

    async def place(self, name: str, *, accept_partial: bool = False) -> str:
        """Stores a composed solution, its consent and an order for all of it."""
        now = datetime.now(UTC)
        consent = ConsentRecord(
            consent_id=f"cns-{name}",
            owner=OWNER,
            purpose="travel_abroad",
            partner_ids=(),
            partner_kinds=tuple(kind for _, kind in PARTNERS.values()),
            given_at=now,
            notice_version="1",
            created_at=now,
        )
        await self.store.save_consent(consent)
        expires = timestamp_pb2.Timestamp()
        expires.FromDatetime(now + timedelta(minutes=15))
        solution = solution_pb2.Solution(
            solution_id=f"sol-{name}",
            recipe="travel_abroad@1",
            entry=solution_pb2.EntrySummary(partner_id=OWNER, kind="roaming"),
            expire_time=expires,
            consent_id=consent.consent_id,
        )
        await self.store.save_solution(
            solution.solution_id, OWNER, "fp", solution.SerializeToString(), None
        )
        components = tuple(
            ComponentRecord(
                kind=kind,
                partner_id=partner_id,
                offer_id=f"o-{kind}",
                currency_code="CNY",
                base="100",
                tax="0",
                disclosure=Disclosure(TRAVELLERS[kind]).to_json(),
            )
            for kind, (partner_id, _) in PARTNERS.items()
        )
        order = OrderRecord(
            order_id=f"ord-{name}",
            owner=OWNER,
            solution_id=solution.solution_id,
            state=OrderState.PENDING,
            accept_partial=accept_partial,
            components=components,
            created_at=now,
            updated_at=now,
            consent_id=consent.consent_id,
        )
        stored, _ = await self.store.create_order(order, None, NewEvent("order_created"))
        return stored.order_id


@asynccontextmanager
async def world(tmp_path: Path) -> AsyncIterator[World]:
    # Personal data is kept sealed, as by the gateway (gateway.storage.DataCipher).
    cipher = DataCipher({"test": secrets.token_bytes(32)}, "test")
    store = await SqliteStore.open(tmp_path / "gateway.sqlite3", cipher=cipher)
    partners: dict[str, FakePartner] = {}
    adapters: dict[str, FakeAdapter] = {}
    for kind, (partner_id, partner_kind) in PARTNERS.items():
        partner = FakePartner(partner_id, [offer(partner_id, f"o-{kind}")])
        partners[partner_id] = partner
        adapters[partner_id] = FakeAdapter(partner_id, partner_kind, partner)
    try:
        yield World(store, partners, adapters)
    finally:
        await store.aclose()
