"""docs/openapi/*.yaml describe what the sandbox really serves (contract parity)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from starlette.routing import Route

from sandbox import SandboxCluster, create_partner_app
from tests.sandbox.schema_check import errors, resolve
from tests.sandbox.support import REQUESTS, bearer, offers

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi"
PARTNER_OF_KIND = {
    "telecom": "telecom-cn",
    "airline": "airline-a",
    "insurer": "insurer-a",
    "car_rental": "car-a",
}
KINDS = sorted(PARTNER_OF_KIND)


def load(kind: str) -> dict[str, Any]:
    document = yaml.safe_load((OPENAPI / f"{kind}.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    return resolve(document, {"$ref": f"#/components/schemas/{name}"})


def kind_schema(kind: str, suffix: str) -> str:
    return kind.replace("_", " ").title().replace(" ", "") + suffix


@pytest.mark.parametrize("kind", KINDS)
def test_paths_match_the_app(cluster: SandboxCluster, kind: str) -> None:
    document = load(kind)
    assert document["openapi"].startswith("3.1")
    app = create_partner_app(cluster[PARTNER_OF_KIND[kind]].state)
    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == served


@pytest.mark.parametrize("kind", KINDS)
def test_every_reference_resolves(kind: str) -> None:
    document = load(kind)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(document, node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


@pytest.mark.parametrize("kind", KINDS)
async def test_real_answers_match_the_schemas(
    cluster: SandboxCluster, client: httpx2.AsyncClient, kind: str
) -> None:
    document = load(kind)
    partner = cluster[PARTNER_OF_KIND[kind]]
    assert (
        errors(document, schema(document, kind_schema(kind, "QuoteRequest")), REQUESTS[kind]) == []
    )

    found = await offers(client, partner, REQUESTS[kind])
    assert errors(document, schema(document, "QuoteResponse"), {"offers": found}) == []

    headers = {**await bearer(client, partner), "Idempotency-Key": f"openapi-{kind}"}
    hold = await client.post(
        f"{partner.base_url}/v1/holds", json={"offer_id": found[0]["offer_id"]}, headers=headers
    )
    assert errors(document, schema(document, "Hold"), hold.json()) == []
    hold_url = f"{partner.base_url}/v1/holds/{hold.json()['hold_id']}"
    headers["Idempotency-Key"] = f"openapi-{kind}-confirm"
    confirmed = await client.post(f"{hold_url}/confirm", json={}, headers=headers)
    assert errors(document, schema(document, "Confirmation"), confirmed.json()) == []
    booking_url = f"{partner.base_url}/v1/bookings/{confirmed.json()['reference']}"
    booking = await client.get(booking_url, headers=headers)
    assert errors(document, schema(document, "Booking"), booking.json()) == []
    headers["Idempotency-Key"] = f"openapi-{kind}-cancel"
    cancelled = await client.post(f"{hold_url}/cancel", json={}, headers=headers)
    assert errors(document, schema(document, "Cancellation"), cancelled.json()) == []
    booking = await client.get(booking_url, headers=headers)
    assert errors(document, schema(document, "Booking"), booking.json()) == []
    unknown = await client.get(f"{partner.base_url}/v1/bookings/XX-NOSUCH", headers=headers)
    assert errors(document, schema(document, "Error"), unknown.json()) == []

    sale_request = {"quote": REQUESTS[kind], "pick": 1, "traveller_count": 2}
    assert errors(document, schema(document, "SaleRequest"), sale_request) == []
    sale = await client.post(f"{partner.base_url}/_sandbox/sales", json=sale_request)
    assert errors(document, schema(document, "Sale"), sale.json()) == []
    no_sale = await client.post(f"{partner.base_url}/_sandbox/sales", json={"quote": {}})
    assert errors(document, schema(document, "Error"), no_sale.json()) == []

    refused = await client.post(f"{partner.base_url}/v1/quotes", json={})
    assert errors(document, schema(document, "Error"), refused.json()) == []
    knobs = (await client.get(f"{partner.base_url}/_sandbox/knobs")).json()
    assert errors(document, schema(document, "Knobs"), knobs) == []
    ledger = (await client.get(f"{partner.base_url}/_sandbox/ledger")).json()
    assert errors(document, schema(document, "Ledger"), ledger) == []
    jwks = (await client.get(f"{partner.base_url}/.well-known/jwks.json")).json()
    assert errors(document, schema(document, "JWKS"), jwks) == []


# Answers only some requests get: a partly covered party, two cars for a large one.
TRIP_PLAN_REQUESTS = [
    pytest.param(
        "insurer",
        {
            **REQUESTS["insurer"],
            "insured": [
                {"age": 34, "residence_region": "CN"},
                {"age": 36, "residence_region": "JP"},
                {"age": 85, "residence_region": "CN"},
            ],
        },
        id="insurer-not-covered",
    ),
    pytest.param(
        "car_rental",
        {**REQUESTS["car_rental"], "passengers": 9, "drivers": 2},
        id="car-two-cars",
    ),
]


@pytest.mark.parametrize(("kind", "request_body"), TRIP_PLAN_REQUESTS)
async def test_trip_plan_answers_match_the_schemas(
    cluster: SandboxCluster, client: httpx2.AsyncClient, kind: str, request_body: dict[str, Any]
) -> None:
    document = load(kind)
    request_schema = schema(document, kind_schema(kind, "QuoteRequest"))
    assert errors(document, request_schema, request_body) == []
    found = await offers(client, cluster[PARTNER_OF_KIND[kind]], request_body)
    assert found
    assert errors(document, schema(document, "QuoteResponse"), {"offers": found}) == []
