"""Offers that leave travellers out (`details.not_covered`), and the car party fields."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import NotCovered, PartnerProtocolError, QuoteRequest, create_adapter, parse_offers
from adapters import car_rental as car_adapter
from adapters import insurer as insurer_adapter
from sandbox import SandboxCluster
from tests.adapters.support import config_for, soon
from tests.support import SandboxControl


def offer(details: dict[str, Any]) -> dict[str, Any]:
    return {
        "offer_id": "of_1",
        "product_code": "HM-TRV-BASI-ASIA",
        "title": "Basic travel insurance",
        "price": {"currency_code": "CNY", "base": "120.00", "tax": "0.00"},
        "rating": 4.5,
        "expires_at": "2030-03-01T09:25:00Z",
        "details": details,
    }


def parse(details: dict[str, Any]) -> tuple[NotCovered, ...]:
    [parsed] = parse_offers("insurer-a", {"offers": [offer(details)]}, insurer_adapter.attributes)
    return parsed.not_covered


def test_not_covered_travellers_are_read() -> None:
    listed = [
        {"index": 3, "reason": "age_not_covered"},
        {"index": 0, "reason": "residence_not_covered"},
    ]
    assert parse({"insured": 2, "not_covered": listed}) == (
        NotCovered(index=3, reason="age_not_covered"),
        NotCovered(index=0, reason="residence_not_covered"),
    )


@pytest.mark.parametrize("details", [{"insured": 2}, {"not_covered": None}, {"not_covered": []}])
def test_an_offer_without_not_covered_covers_everyone(details: dict[str, Any]) -> None:
    assert parse(details) == ()


@pytest.mark.parametrize(
    "not_covered",
    [
        pytest.param({"index": 0, "reason": "age_not_covered"}, id="not-a-list"),
        pytest.param(["age_not_covered"], id="entry-not-an-object"),
        pytest.param([{"reason": "age_not_covered"}], id="no-index"),
        pytest.param([{"index": -1, "reason": "age_not_covered"}], id="negative-index"),
        pytest.param([{"index": "0", "reason": "age_not_covered"}], id="index-a-string"),
        pytest.param([{"index": 1.0, "reason": "age_not_covered"}], id="index-a-float"),
        pytest.param([{"index": True, "reason": "age_not_covered"}], id="index-a-boolean"),
        pytest.param([{"index": 0}], id="no-reason"),
        pytest.param([{"index": 0, "reason": "Too old"}], id="reason-a-sentence"),
        pytest.param([{"index": 0, "reason": "age2"}], id="reason-with-digits"),
        pytest.param([{"index": 0, "reason": "_age"}], id="reason-starting-with-underscore"),
        pytest.param([{"index": 0, "reason": "a" * 41}], id="reason-too-long"),
        pytest.param([{"index": 0, "reason": "age_not_covered\n"}], id="reason-with-newline"),
        pytest.param(
            [{"index": 1, "reason": "age_not_covered"}, {"index": 1, "reason": "other"}],
            id="same-traveller-twice",
        ),
    ],
)
def test_a_malformed_not_covered_is_a_protocol_error(not_covered: Any) -> None:
    with pytest.raises(PartnerProtocolError, match="malformed offers"):
        parse({"not_covered": not_covered})


def test_the_longest_reason_is_forty_characters() -> None:
    reason = "a" * 40
    assert parse({"not_covered": [{"index": 0, "reason": reason}]}) == (NotCovered(0, reason),)


async def test_the_insurer_names_whom_its_policy_leaves_out(
    sandbox: SandboxCluster, fresh: SandboxControl
) -> None:
    party = [
        {"age": 34, "residence_region": "CN"},
        {"age": 36, "residence_region": "JP"},
        {"age": 85, "residence_region": "CN"},
    ]
    request = QuoteRequest(
        "insurance",
        {
            "destination_region": "JP",
            "start_date": "2030-03-01",
            "end_date": "2030-03-08",
            "insured": party,
        },
    )
    adapter = create_adapter(config_for(sandbox, "insurer-a"))
    try:
        offers = await adapter.quote(request, deadline=soon())
    finally:
        await adapter.aclose()
    assert offers
    for found in offers:
        assert found.attributes["insured"] == "1"
        assert found.not_covered == (
            NotCovered(1, "residence_not_covered"),
            NotCovered(2, "age_not_covered"),
        )


def test_the_car_quote_carries_the_party_only_when_known() -> None:
    trip = {
        "pickup_location": "NRT",
        "pickup_date": "2030-03-01",
        "return_date": "2030-03-06",
        "driver_age": 40,
    }
    assert car_adapter.quote_body(trip) == trip
    body = car_adapter.quote_body({**trip, "passengers": 9, "drivers": 2, "cabin": "economy"})
    assert body == {**trip, "passengers": 9, "drivers": 2}


async def test_two_cars_for_a_large_party(sandbox: SandboxCluster, fresh: SandboxControl) -> None:
    params = {
        "pickup_location": "NRT",
        "pickup_date": "2030-03-01",
        "return_date": "2030-03-06",
        "driver_age": 40,
        "passengers": 9,
        "drivers": 2,
    }
    adapter = create_adapter(config_for(sandbox, "car-a"))
    try:
        offers = await adapter.quote(QuoteRequest("car", params), deadline=soon())
    finally:
        await adapter.aclose()
    assert offers
    assert all(o.attributes["cars"] == "2" and int(o.attributes["seats"]) >= 9 for o in offers)
