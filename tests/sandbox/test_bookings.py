"""Hold, confirm and cancel with Idempotency-Key semantics, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx2

from sandbox import RunningPartner, SandboxCluster
from tests.sandbox.support import REQUESTS, bearer, offers

TRAVELLERS = [{"given_name": "Li", "family_name": "Wei", "birth_date": "1992-05-04"}]


async def post(
    client: httpx2.AsyncClient,
    partner: RunningPartner,
    path: str,
    body: dict[str, Any],
    key: str | None,
) -> httpx2.Response:
    headers = await bearer(client, partner)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(f"{partner.base_url}{path}", json=body, headers=headers)


async def test_hold_confirm_cancel(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    partner = cluster["airline-a"]
    offer = (await offers(client, partner, REQUESTS["airline"]))[0]
    hold_body = {"offer_id": offer["offer_id"], "travellers": TRAVELLERS}

    held = await post(client, partner, "/v1/holds", hold_body, "hold-1")
    assert held.status_code == 201
    hold = held.json()
    assert hold["status"] == "held"
    assert hold["offer_id"] == offer["offer_id"]
    assert hold["hold_id"].startswith("h_")
    hold_id = hold["hold_id"]

    confirmed = await post(client, partner, f"/v1/holds/{hold_id}/confirm", {}, "confirm-1")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["reference"].startswith("ES-")

    cancelled = await post(client, partner, f"/v1/holds/{hold_id}/cancel", {}, "cancel-1")
    assert cancelled.status_code == 200
    assert cancelled.json() == {
        "hold_id": hold_id,
        "status": "cancelled",
        "refund": offer["price"],
    }
    again = await post(client, partner, f"/v1/holds/{hold_id}/cancel", {}, "cancel-2")
    assert again.json() == cancelled.json()

    too_late = await post(client, partner, f"/v1/holds/{hold_id}/confirm", {}, "confirm-2")
    assert too_late.status_code == 409


async def test_cancelling_a_hold_refunds_nothing(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["car-a"]
    offer = (await offers(client, partner, REQUESTS["car_rental"]))[0]
    held = await post(client, partner, "/v1/holds", {"offer_id": offer["offer_id"]}, "k1")
    hold_id = held.json()["hold_id"]
    cancelled = await post(client, partner, f"/v1/holds/{hold_id}/cancel", {}, "k2")
    assert cancelled.json()["refund"] is None


async def test_idempotent_replay_and_conflict(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["insurer-a"]
    found = await offers(client, partner, REQUESTS["insurer"])
    body = {"offer_id": found[0]["offer_id"], "travellers": TRAVELLERS}

    first = await post(client, partner, "/v1/holds", body, "same-key")
    replay = await post(client, partner, "/v1/holds", body, "same-key")
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert len(partner.state.bookings.holds) == 1

    other = {"offer_id": found[1]["offer_id"], "travellers": TRAVELLERS}
    conflict = await post(client, partner, "/v1/holds", other, "same-key")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"

    hold_id = first.json()["hold_id"]
    reused = await post(client, partner, f"/v1/holds/{hold_id}/confirm", {}, "same-key")
    assert reused.status_code == 409, "a key is bound to its operation too"

    confirm = f"/v1/holds/{hold_id}/confirm"
    confirmed = await post(client, partner, confirm, {}, "confirm-key")
    assert (await post(client, partner, confirm, {}, "confirm-key")).json() == confirmed.json()

    keys = [e.idempotency_key for e in partner.state.ledger.of("hold")]
    assert keys == ["same-key", "same-key", "same-key"]


async def test_refusals(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    partner = cluster["telecom-cn"]
    offer = (await offers(client, partner, REQUESTS["telecom"]))[0]

    no_key = await post(client, partner, "/v1/holds", {"offer_id": offer["offer_id"]}, None)
    assert no_key.status_code == 400
    assert no_key.json()["error"]["field"] == "Idempotency-Key"

    unknown = await post(client, partner, "/v1/holds", {"offer_id": "of_nope"}, "r1")
    assert unknown.status_code == 409
    assert unknown.json()["error"]["code"] == "conflict"

    missing = await post(client, partner, "/v1/holds/h_missing/confirm", {}, "r2")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"

    # An offer quoted with a zero time-to-live has already lapsed.
    partner.state.patch_knobs({"offer_ttl_s": 0})
    lapsed = (await offers(client, partner, REQUESTS["telecom"]))[0]
    expired = await post(client, partner, "/v1/holds", {"offer_id": lapsed["offer_id"]}, "r3")
    assert expired.status_code == 409
    assert "expired" in expired.json()["error"]["message"]


async def test_fault_is_not_remembered_by_the_key(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["car-b"]
    offer = (await offers(client, partner, REQUESTS["car_rental"]))[0]
    partner.state.patch_knobs({"fail_next": [{"operation": "hold", "status": 503}]})
    body = {"offer_id": offer["offer_id"]}
    assert (await post(client, partner, "/v1/holds", body, "retry-me")).status_code == 503
    assert (await post(client, partner, "/v1/holds", body, "retry-me")).status_code == 201
