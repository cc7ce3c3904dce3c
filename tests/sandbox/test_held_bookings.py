"""Bookings the customer holds: `GET /v1/bookings/{reference}` and counter sales
(`POST /_sandbox/sales`), over real HTTP."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest

from sandbox import RunningPartner, SandboxCluster
from tests.sandbox.support import REQUESTS, bearer, offers
from tests.sandbox.test_bookings import TRAVELLERS, post

REFERENCE = re.compile(r"[A-Z]{2}-[A-Z2-7]{6}")


async def retrieve(
    client: httpx2.AsyncClient, partner: RunningPartner, reference: str
) -> httpx2.Response:
    return await client.get(
        f"{partner.base_url}/v1/bookings/{reference}", headers=await bearer(client, partner)
    )


async def sell(client: httpx2.AsyncClient, partner: RunningPartner, body: Any) -> httpx2.Response:
    return await client.post(f"{partner.base_url}/_sandbox/sales", json=body)


def booked(offer: dict[str, Any], reference: str, status: str, count: int) -> dict[str, Any]:
    """The retrieve answer for `offer` booked under `reference`."""
    return {
        "reference": reference,
        "status": status,
        "offer_id": offer["offer_id"],
        "product_code": offer["product_code"],
        "title": offer["title"],
        "price": offer["price"],
        "details": offer["details"],
        "traveller_count": count,
    }


async def test_a_confirmed_hold_is_retrieved_by_its_reference(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["airline-a"]
    offer = (await offers(client, partner, REQUESTS["airline"]))[0]
    body = {"offer_id": offer["offer_id"], "travellers": TRAVELLERS * 3}
    hold_id = (await post(client, partner, "/v1/holds", body, "held-1")).json()["hold_id"]
    assert (await retrieve(client, partner, hold_id)).status_code == 404, "a hold is no booking"

    confirm = await post(client, partner, f"/v1/holds/{hold_id}/confirm", {}, "held-2")
    reference = confirm.json()["reference"]
    found = await retrieve(client, partner, reference)
    assert found.status_code == 200
    assert found.json() == booked(offer, reference, "confirmed", 3)

    await post(client, partner, f"/v1/holds/{hold_id}/cancel", {}, "held-3")
    after = await retrieve(client, partner, reference)
    assert after.json() == booked(offer, reference, "cancelled", 3)

    entries = partner.state.ledger.of("retrieve")
    assert [(e.method, e.path, e.status) for e in entries] == [
        ("GET", f"/v1/bookings/{hold_id}", 404),
        ("GET", f"/v1/bookings/{reference}", 200),
        ("GET", f"/v1/bookings/{reference}", 200),
    ]
    assert {e.client_id for e in entries} == {"partner-gateway"}


async def test_an_unknown_reference_is_not_found(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["insurer-a"]
    response = await retrieve(client, partner, "HM-AAAAAA")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "booking HM-AAAAAA does not exist"}
    }


async def test_retrieve_needs_a_token_and_obeys_the_knobs(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["telecom-cn"]
    reference = (await sell(client, partner, {"quote": REQUESTS["telecom"]})).json()["reference"]
    anonymous = await client.get(f"{partner.base_url}/v1/bookings/{reference}")
    assert anonymous.status_code == 401

    partner.state.patch_knobs({"fail_next": [{"operation": "retrieve", "status": 503}]})
    assert (await retrieve(client, partner, reference)).status_code == 503
    assert (await retrieve(client, partner, reference)).status_code == 200

    partner.state.patch_knobs({"latency_ms": 50})
    assert partner.state.faults.latency_s(partner.state.knobs, "retrieve") == 0.05


@pytest.mark.parametrize(
    ("partner_id", "travellers"),
    [("airline-a", 3), ("insurer-a", 3), ("car-a", 1), ("telecom-cn", 2)],
)
async def test_a_sale_books_the_quote_for_its_party(
    cluster: SandboxCluster, client: httpx2.AsyncClient, partner_id: str, travellers: int
) -> None:
    partner = cluster[partner_id]
    request = REQUESTS[partner.spec.kind]
    response = await sell(client, partner, {"quote": request})
    assert response.status_code == 201, response.text
    sale = response.json()
    reference = sale["reference"]
    assert REFERENCE.fullmatch(reference)
    assert reference.startswith(f"{partner.spec.brand.code}-")

    cheapest = (await offers(client, partner, request))[0]
    assert sale["booking"] == booked(cheapest, reference, "confirmed", travellers)
    assert (await retrieve(client, partner, reference)).json() == sale["booking"]
    # A counter sale is not a call of the protocol, and leaves no hold behind.
    operations = [e.operation for e in partner.state.ledger.entries]
    assert operations == ["token", "quote", "token", "retrieve"]
    assert all(h.reference != reference for h in partner.state.bookings.holds.values())


async def test_a_sale_picks_an_offer_and_a_party_size(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["car-a"]
    request = {**REQUESTS["car_rental"], "passengers": 4}
    response = await sell(client, partner, {"quote": request, "pick": 2})
    assert response.json()["booking"]["traveller_count"] == 4  # the car's passengers
    third = (await offers(client, partner, request))[2]
    assert response.json()["booking"]["offer_id"] == third["offer_id"]

    chosen = await sell(client, partner, {"quote": request, "traveller_count": 2})
    assert chosen.json()["booking"]["traveller_count"] == 2


async def test_a_sale_ignores_faults_and_latency(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["airline-b"]
    partner.state.patch_knobs({"outage": True, "error_rate": 1.0})
    response = await sell(client, partner, {"quote": REQUESTS["airline"]})
    assert response.status_code == 201
    assert partner.state.ledger.entries == ()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        pytest.param(["not", "an", "object"], 400, None, id="not-an-object"),
        pytest.param({}, 400, "quote", id="no-quote"),
        pytest.param({"quote": REQUESTS["airline"], "seat": "1A"}, 400, "seat", id="unknown"),
        pytest.param(
            {"quote": {**REQUESTS["airline"], "origin": "Shanghai"}},
            400,
            "quote.origin",
            id="bad-quote",
        ),
        pytest.param({"quote": REQUESTS["airline"], "pick": -1}, 400, "pick", id="negative-pick"),
        pytest.param({"quote": REQUESTS["airline"], "pick": "0"}, 400, "pick", id="pick-a-string"),
        pytest.param(
            {"quote": REQUESTS["airline"], "traveller_count": 0}, 400, "traveller_count", id="none"
        ),
        pytest.param({"quote": REQUESTS["airline"], "pick": 3}, 409, "pick", id="pick-too-far"),
        pytest.param(
            {"quote": {**REQUESTS["airline"], "origin": "NRT", "destination": "PVG"}},
            409,
            "quote",
            id="no-offers",
        ),
    ],
)
async def test_a_sale_that_cannot_be_made(
    cluster: SandboxCluster,
    client: httpx2.AsyncClient,
    body: Any,
    status: int,
    field: str | None,
) -> None:
    response = await sell(client, cluster["airline-a"], body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == ("invalid_request" if status == 400 else "conflict")
    assert error.get("field") == field
