"""One sandbox for the whole session, knobs and ledgers reset before every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx2
import pytest

from sandbox import DEFAULT_PARTNERS, Knobs, SandboxCluster, start_sandbox


@pytest.fixture(scope="session")
async def cluster() -> AsyncIterator[SandboxCluster]:
    # No latency by default: tests that want latency set it themselves.
    specs = [replace(spec, knobs=Knobs()) for spec in DEFAULT_PARTNERS]
    async with await start_sandbox(specs, ports={spec.partner_id: 0 for spec in specs}) as c:
        yield c


@pytest.fixture(scope="session")
async def client(cluster: SandboxCluster) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=10.0) as http:
        yield http


@pytest.fixture(autouse=True)
def fresh_partners(cluster: SandboxCluster) -> None:
    for partner in cluster.partners.values():
        partner.state.knobs = Knobs()
        partner.state.faults.reseed()
        partner.state.ledger.clear()
