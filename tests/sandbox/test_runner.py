"""Starting and stopping sandbox partners."""

from __future__ import annotations

import signal
from dataclasses import replace

import httpx2
import pytest

from sandbox import DEFAULT_PARTNERS, Knobs, PartnerSpec, SandboxCluster, start_sandbox


def test_default_partners() -> None:
    kinds = {spec.partner_id: spec.kind for spec in DEFAULT_PARTNERS}
    assert kinds == {
        "telecom-cn": "telecom",
        "airline-a": "airline",
        "airline-b": "airline",
        "insurer-a": "insurer",
        "car-a": "car_rental",
        "car-b": "car_rental",
    }
    latency = {spec.partner_id: spec.knobs.latency_ms for spec in DEFAULT_PARTNERS}
    assert latency == {
        "telecom-cn": 30,
        "airline-a": 80,
        "airline-b": 100,
        "insurer-a": 40,
        "car-a": 60,
        "car-b": 70,
    }
    for spec in DEFAULT_PARTNERS:
        assert spec.client_secrets == {"partner-gateway": f"sandbox-secret-{spec.partner_id}"}


def test_running_partners(cluster: SandboxCluster) -> None:
    assert set(cluster.partners) == {spec.partner_id for spec in DEFAULT_PARTNERS}
    for partner_id, partner in cluster.partners.items():
        assert partner.base_url.startswith("http://127.0.0.1:")
        assert partner.token_url == f"{partner.base_url}/oauth/token"
        assert partner.audience == f"urn:partner:{partner_id}"
        assert partner.state.issuer == partner.base_url
    ports = {partner.base_url for partner in cluster.partners.values()}
    assert len(ports) == len(cluster.partners)


async def test_start_and_stop_leave_signals_alone(client: httpx2.AsyncClient) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    spec = replace(DEFAULT_PARTNERS[0], knobs=Knobs())
    cluster = await start_sandbox([spec], ports={spec.partner_id: 0})
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    url = cluster["telecom-cn"].base_url
    assert (await client.get(f"{url}/v1/health")).status_code == 200
    await cluster.aclose()
    await cluster.aclose()  # a second close is harmless
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    async with httpx2.AsyncClient() as fresh:  # no pooled connection to the old server
        with pytest.raises(httpx2.ConnectError):
            await fresh.get(f"{url}/v1/health")


async def test_duplicate_ids_are_refused() -> None:
    spec = PartnerSpec("car-x", "car_rental", "X Cars")
    with pytest.raises(ValueError, match="unique"):
        await start_sandbox([spec, spec])


async def test_a_taken_port_is_reported(cluster: SandboxCluster) -> None:
    taken = int(cluster["car-a"].base_url.rsplit(":", 1)[1])
    spec = PartnerSpec("car-x", "car_rental", "X Cars")
    with pytest.raises(OSError, match="in use"):
        await start_sandbox([spec], ports={"car-x": taken})
