"""Knobs (faults, outage, latency) and the ledger, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest

from sandbox import GATEWAY_CLIENT_ID, SandboxCluster
from tests.sandbox.support import REQUESTS, bearer, quote, secret

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def patch_knobs(client: httpx2.AsyncClient, base_url: str, **knobs: Any) -> dict[str, Any]:
    response = await client.patch(f"{base_url}/_sandbox/knobs", json=knobs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


async def test_knobs_get_and_patch(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    url = cluster["airline-a"].base_url
    knobs = (await client.get(f"{url}/_sandbox/knobs")).json()
    assert knobs == {
        "latency_ms": 0,
        "latency_jitter_ms": 0,
        "error_rate": 0.0,
        "error_status": 503,
        "outage": False,
        "token_ttl_s": 300,
        "offer_ttl_s": 900,
        "fail_next": [],
    }
    patched = await patch_knobs(client, url, token_ttl_s=60, error_status=502)
    assert patched == {**knobs, "token_ttl_s": 60, "error_status": 502}
    assert (await client.get(f"{url}/_sandbox/knobs")).json() == patched

    refused = await client.patch(f"{url}/_sandbox/knobs", json={"error_rate": 2})
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "error_rate"
    unknown = await client.patch(f"{url}/_sandbox/knobs", json={"speed": 1})
    assert unknown.json()["error"]["field"] == "speed"
    rule = await client.patch(f"{url}/_sandbox/knobs", json={"fail_next": [{"operation": "x"}]})
    assert rule.json()["error"]["field"] == "fail_next[0].operation"


async def test_token_ttl_knob(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    partner = cluster["car-b"]
    await patch_knobs(client, partner.base_url, token_ttl_s=60)
    response = await client.post(
        partner.token_url,
        data={"grant_type": "client_credentials"},
        auth=(GATEWAY_CLIENT_ID, secret(partner)),
    )
    assert response.json()["expires_in"] == 60


async def test_fail_next_fails_once_then_succeeds(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["airline-b"]
    rule = {"operation": "quote", "status": 503, "count": 1, "retry_after_s": 2}
    knobs = await patch_knobs(client, partner.base_url, fail_next=[rule])
    assert knobs["fail_next"] == [{**rule, "malformed": False}]

    failed = await quote(client, partner, REQUESTS["airline"])
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "unavailable"
    assert failed.headers["retry-after"] == "2"

    assert (await quote(client, partner, REQUESTS["airline"])).status_code == 200
    assert partner.state.knobs.fail_next == ()
    assert [e.status for e in partner.state.ledger.of("quote")] == [503, 200]


async def test_fail_next_rules_by_operation_and_count(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["car-a"]
    await patch_knobs(
        client,
        partner.base_url,
        fail_next=[
            {"operation": "token", "status": 500},
            {"operation": "quote", "status": 429, "count": 2},
        ],
    )
    token = await client.post(
        partner.token_url,
        data={"grant_type": "client_credentials"},
        auth=(GATEWAY_CLIENT_ID, secret(partner)),
    )
    assert token.status_code == 500
    assert token.json()["error"] == "server_error"
    statuses = [(await quote(client, partner, REQUESTS["car_rental"])) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].json()["error"]["code"] == "rate_limited"
    assert statuses[0].headers["retry-after"] == "1"


async def test_outage(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    partner = cluster["insurer-a"]
    headers = await bearer(client, partner)  # fetched before the outage starts
    await patch_knobs(client, partner.base_url, outage=True)

    health = await client.get(f"{partner.base_url}/v1/health")
    assert health.status_code == 503
    quoted = await client.post(
        f"{partner.base_url}/v1/quotes", json=REQUESTS["insurer"], headers=headers
    )
    assert quoted.status_code == 503
    assert quoted.json()["error"]["code"] == "unavailable"
    token = await client.post(
        partner.token_url,
        data={"grant_type": "client_credentials"},
        auth=(GATEWAY_CLIENT_ID, secret(partner)),
    )
    assert token.status_code == 503

    await patch_knobs(client, partner.base_url, outage=False)
    assert (await client.get(f"{partner.base_url}/v1/health")).status_code == 200


async def test_latency(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    partner = cluster["telecom-cn"]
    headers = await bearer(client, partner)
    await patch_knobs(client, partner.base_url, latency_ms=150)
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.post(
        f"{partner.base_url}/v1/quotes", json=REQUESTS["telecom"], headers=headers
    )
    assert response.status_code == 200
    assert loop.time() - started >= 0.15


async def test_error_rate_is_seeded(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    partner = cluster["airline-a"]
    headers = await bearer(client, partner)

    async def run() -> list[int]:
        await patch_knobs(client, partner.base_url, error_rate=0.5, error_status=502)
        statuses = []
        for _ in range(12):
            response = await client.post(
                f"{partner.base_url}/v1/quotes", json=REQUESTS["airline"], headers=headers
            )
            statuses.append(response.status_code)
        return statuses

    first, second = await run(), await run()
    assert first == second
    assert set(first) == {200, 502}


async def test_ledger_records_refused_calls(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["car-b"]
    url = partner.base_url
    await client.post(
        f"{url}/v1/quotes", json=REQUESTS["car_rental"], headers={"traceparent": TRACEPARENT}
    )
    await patch_knobs(client, url, fail_next=[{"operation": "quote", "status": 504}])
    await quote(client, partner, REQUESTS["car_rental"], traceparent=TRACEPARENT)
    await quote(client, partner, REQUESTS["car_rental"])

    ledger = (await client.get(f"{url}/_sandbox/ledger")).json()
    assert ledger["partner_id"] == "car-b"
    quotes = [e for e in ledger["entries"] if e["operation"] == "quote"]
    assert [e["status"] for e in quotes] == [401, 504, 200]
    refused = quotes[0]
    assert refused["client_id"] is None
    assert refused["traceparent"] == TRACEPARENT
    assert refused["request"] == REQUESTS["car_rental"]
    assert refused["method"] == "POST"
    assert refused["path"] == "/v1/quotes"
    assert quotes[2]["client_id"] == GATEWAY_CLIENT_ID
    assert quotes[2]["traceparent"] is None
    seqs = [e["seq"] for e in ledger["entries"]]
    assert seqs == sorted(seqs)
    assert [e["operation"] for e in ledger["entries"]].count("token") == 2

    assert (await client.delete(f"{url}/_sandbox/ledger")).status_code == 204
    assert (await client.get(f"{url}/_sandbox/ledger")).json()["entries"] == []


async def test_unknown_path_answers_protocol_error(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    response = await client.get(f"{cluster['car-a'].base_url}/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_fail_next_can_answer_malformed_json(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["airline-b"]
    await patch_knobs(
        client, partner.base_url, fail_next=[{"operation": "quote", "malformed": True}]
    )

    broken = await quote(client, partner, REQUESTS["airline"])

    assert broken.status_code == 200
    with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
        broken.json()
    assert (await quote(client, partner, REQUESTS["airline"])).json()["offers"]
