"""Requests and calls the sandbox tests share."""

from __future__ import annotations

from typing import Any

import httpx2

from sandbox import GATEWAY_CLIENT_ID, RunningPartner

#: One valid quote request per kind: a family of three to Tokyo in December. Far in the future,
#: so the airline's check-in margin (flights leaving within 2 h of now) never bites.
REQUESTS: dict[str, dict[str, Any]] = {
    "telecom": {
        "home_region": "CN",
        "destination_region": "JP",
        "start_date": "2030-12-01",
        "end_date": "2030-12-08",
        "lines": 2,
        "subscriber_number": "+8613800138000",
    },
    "airline": {
        "origin": "PVG",
        "destination": "NRT",
        "depart_date": "2030-12-01",
        "return_date": "2030-12-08",
        "passengers": {"adults": 2, "children": 1},
        "cabin": "economy",
    },
    "insurer": {
        "destination_region": "JP",
        "start_date": "2030-12-01",
        "end_date": "2030-12-08",
        "insured": [
            {"age": 34, "residence_region": "CN"},
            {"age": 36, "residence_region": "CN"},
            {"age": 6, "residence_region": "CN"},
        ],
    },
    "car_rental": {
        "pickup_location": "NRT",
        "pickup_date": "2030-12-01",
        "return_date": "2030-12-08",
        "driver_age": 34,
    },
}


def secret(partner: RunningPartner) -> str:
    return f"sandbox-secret-{partner.spec.partner_id}"


async def access_token(client: httpx2.AsyncClient, partner: RunningPartner) -> str:
    response = await client.post(
        partner.token_url,
        data={"grant_type": "client_credentials"},
        auth=(GATEWAY_CLIENT_ID, secret(partner)),
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


async def bearer(client: httpx2.AsyncClient, partner: RunningPartner) -> dict[str, str]:
    return {"Authorization": f"Bearer {await access_token(client, partner)}"}


async def quote(
    client: httpx2.AsyncClient, partner: RunningPartner, body: Any, **headers: str
) -> httpx2.Response:
    return await client.post(
        f"{partner.base_url}/v1/quotes",
        json=body,
        headers={**await bearer(client, partner), **headers},
    )


async def offers(
    client: httpx2.AsyncClient, partner: RunningPartner, body: dict[str, Any]
) -> list[dict[str, Any]]:
    response = await quote(client, partner, body)
    assert response.status_code == 200, response.text
    found = response.json()["offers"]
    assert isinstance(found, list)
    return found


def without_expiry(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in offer.items() if k != "expires_at"} for offer in found]
