"""The built-in catalogues through /v1/quotes: realistic, deterministic offers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from sandbox import SandboxCluster
from tests.sandbox.support import REQUESTS, offers, quote, without_expiry

DECIMALS = {"CNY": 2, "JPY": 0, "KRW": 0, "THB": 2, "EUR": 2, "USD": 2, "GBP": 2, "AUD": 2}


def assert_money(price: dict[str, str], currency: str) -> Decimal:
    assert price["currency_code"] == currency
    for amount in (price["base"], price["tax"]):
        exponent = Decimal(amount).as_tuple().exponent
        assert exponent == -DECIMALS[currency], f"{amount} has the wrong decimals for {currency}"
    return Decimal(price["base"]) + Decimal(price["tax"])


def totals(found: list[dict[str, Any]]) -> list[Decimal]:
    return [Decimal(o["price"]["base"]) + Decimal(o["price"]["tax"]) for o in found]


@pytest.mark.parametrize(
    "partner_id", ["telecom-cn", "airline-a", "airline-b", "insurer-a", "car-a", "car-b"]
)
async def test_same_request_same_offers(
    cluster: SandboxCluster, client: httpx2.AsyncClient, partner_id: str
) -> None:
    partner = cluster[partner_id]
    first = await offers(client, partner, REQUESTS[partner.spec.kind])
    second = await offers(client, partner, REQUESTS[partner.spec.kind])
    assert first, "every default partner serves the reference request"
    assert without_expiry(first) == without_expiry(second)
    assert totals(first) == sorted(totals(first))
    assert len({o["offer_id"] for o in first}) == len(first)
    for offer in first:
        assert offer["offer_id"].startswith("of_")
        assert 0 <= offer["rating"] <= 5
        assert offer["expires_at"].endswith("Z")


async def test_telecom_packs_cover_the_trip(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    found = await offers(client, cluster["telecom-cn"], REQUESTS["telecom"])
    for offer in found:
        assert_money(offer["price"], "CNY")
        details = offer["details"]
        assert details["validity_days"] >= 8  # 1 to 8 December inclusive
        assert details["lines"] == 2
        assert details["zone"] in ("asia", "worldwide")
    one_line = await offers(client, cluster["telecom-cn"], {**REQUESTS["telecom"], "lines": 1})
    by_code = {o["product_code"]: Decimal(o["price"]["base"]) for o in one_line}
    for offer in found:
        assert Decimal(offer["price"]["base"]) == 2 * by_code[offer["product_code"]]

    europe = {**REQUESTS["telecom"], "destination_region": "FR"}
    zones = {o["details"]["zone"] for o in await offers(client, cluster["telecom-cn"], europe)}
    assert zones == {"europe", "worldwide"}
    home = {**REQUESTS["telecom"], "destination_region": "CN"}
    assert await offers(client, cluster["telecom-cn"], home) == []


async def test_airline_round_trips(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    found = await offers(client, cluster["airline-a"], REQUESTS["airline"])
    for offer in found:
        assert_money(offer["price"], "CNY")
        details = offer["details"]
        assert details["passengers"] == 3
        outbound, inbound = details["outbound"], details["inbound"]
        assert outbound["flight_number"].startswith("ES")
        assert (outbound["origin"], outbound["destination"]) == ("PVG", "NRT")
        assert (inbound["origin"], inbound["destination"]) == ("NRT", "PVG")
        departs = datetime.fromisoformat(outbound["departs_at"])
        arrives = datetime.fromisoformat(outbound["arrives_at"])
        assert timedelta(hours=2) < arrives - departs < timedelta(hours=4)
        assert departs.astimezone().utcoffset() is not None
        assert outbound["departs_at"].startswith("2030-1")  # local 1 Dec is UTC 30 Nov/1 Dec
        assert datetime.fromisoformat(inbound["departs_at"]) > arrives

    adults_only = {**REQUESTS["airline"], "passengers": {"adults": 3}}
    pricier = {
        o["product_code"]: o for o in await offers(client, cluster["airline-a"], adults_only)
    }
    for offer in found:
        assert Decimal(offer["price"]["base"]) < Decimal(
            pricier[offer["product_code"]]["price"]["base"]
        ), "a child pays less than an adult"

    business = await offers(
        client, cluster["airline-a"], {**REQUESTS["airline"], "cabin": "business"}
    )
    assert min(totals(business)) > max(totals(found))


async def test_airline_fares_follow_distance_and_season(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    airline = cluster["airline-a"]
    tokyo = min(totals(await offers(client, airline, REQUESTS["airline"])))
    paris = min(
        totals(await offers(client, airline, {**REQUESTS["airline"], "destination": "CDG"}))
    )
    assert paris > 2 * tokyo
    summer = {**REQUESTS["airline"], "depart_date": "2030-07-30", "return_date": "2030-08-06"}
    spring = {**REQUESTS["airline"], "depart_date": "2030-03-30", "return_date": "2030-04-06"}
    assert min(totals(await offers(client, airline, summer))) > min(
        totals(await offers(client, airline, spring))
    )


@pytest.mark.parametrize("origin", ["PVG", "CAN", "PEK"])
async def test_both_airlines_fly_to_tokyo(
    cluster: SandboxCluster, client: httpx2.AsyncClient, origin: str
) -> None:
    request = {**REQUESTS["airline"], "origin": origin}
    for partner_id, prefix in (("airline-a", "ES"), ("airline-b", "PR")):
        found = await offers(client, cluster[partner_id], request)
        assert found
        assert all(o["details"]["outbound"]["flight_number"].startswith(prefix) for o in found)


async def test_airline_b_skips_some_routes(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    sydney = {**REQUESTS["airline"], "destination": "SYD"}
    assert await offers(client, cluster["airline-a"], sydney)
    assert await offers(client, cluster["airline-b"], sydney) == []
    reverse = {**REQUESTS["airline"], "origin": "NRT", "destination": "PVG"}
    assert await offers(client, cluster["airline-a"], reverse) == []


async def test_insurer_prices_by_age_zone_and_days(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    insurer = cluster["insurer-a"]
    found = await offers(client, insurer, REQUESTS["insurer"])
    assert {o["details"]["plan"] for o in found} == {"basic", "comprehensive"}
    for offer in found:
        assert_money(offer["price"], "CNY")
        assert offer["details"]["days"] == 8
        assert offer["details"]["insured"] == 3
        assert offer["details"]["cover_currency"] == "CNY"

    def request(**changes: Any) -> dict[str, Any]:
        return {**REQUESTS["insurer"], **changes}

    base = totals(found)
    usa = totals(await offers(client, insurer, request(destination_region="US")))
    longer = totals(await offers(client, insurer, request(end_date="2030-12-20")))
    senior = [{"age": 66, "residence_region": "CN"}]
    adult = [{"age": 40, "residence_region": "CN"}]
    old = totals(await offers(client, insurer, request(insured=senior)))
    young = totals(await offers(client, insurer, request(insured=adult)))
    assert all(u > b for u, b in zip(usa, base, strict=True))
    assert all(long > b for long, b in zip(longer, base, strict=True))
    assert all(o > y for o, y in zip(old, young, strict=True))
    too_old = [{"age": 90, "residence_region": "CN"}]
    assert await offers(client, insurer, request(insured=too_old)) == []


@pytest.mark.parametrize(
    ("location", "currency"),
    [("NRT", "JPY"), ("BKK", "THB"), ("CDG", "EUR"), ("LAX", "USD")],
)
async def test_cars_in_local_currency(
    cluster: SandboxCluster, client: httpx2.AsyncClient, location: str, currency: str
) -> None:
    request = {**REQUESTS["car_rental"], "pickup_location": location}
    for partner_id in ("car-a", "car-b"):
        found = await offers(client, cluster[partner_id], request)
        assert found, f"{partner_id} rents cars at {location}"
        for offer in found:
            assert_money(offer["price"], currency)
            assert offer["details"]["rental_days"] == 7
            assert offer["details"]["pickup_location"] == location


async def test_car_driver_age(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    car = cluster["car-a"]

    def driver(age: int) -> dict[str, Any]:
        return {**REQUESTS["car_rental"], "driver_age": age}

    assert await offers(client, car, driver(20)) == []
    young = {o["details"]["car_class"]: o for o in await offers(client, car, driver(22))}
    adult = {o["details"]["car_class"]: o for o in await offers(client, car, driver(34))}
    assert "premium" in adult
    assert "premium" not in young
    for car_class, offer in young.items():
        young_base = Decimal(offer["price"]["base"])
        assert young_base > Decimal(adult[car_class]["price"]["base"]), "young-driver surcharge"


async def test_europe_rents_manual_cars(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    paris = {**REQUESTS["car_rental"], "pickup_location": "CDG"}
    found = {
        o["details"]["car_class"]: o["details"]
        for o in await offers(client, cluster["car-a"], paris)
    }
    assert found["economy"]["transmission"] == "manual"
    assert found["suv"]["transmission"] == "automatic"


@pytest.mark.parametrize(
    ("kind", "partner_id", "change", "field"),
    [
        ("airline", "airline-a", {"return_date": "2030-11-20"}, "return_date"),
        ("airline", "airline-a", {"origin": "Shanghai"}, "origin"),
        ("airline", "airline-a", {"passengers": {"adults": 0}}, "passengers.adults"),
        ("airline", "airline-a", {"cabin": "deluxe"}, "cabin"),
        ("telecom", "telecom-cn", {"lines": 0}, "lines"),
        ("telecom", "telecom-cn", {"start_date": "2030-13-01"}, "start_date"),
        (
            "insurer",
            "insurer-a",
            {"insured": [{"age": "old", "residence_region": "CN"}]},
            "insured[0].age",
        ),
        ("insurer", "insurer-a", {"insured": []}, "insured"),
        ("car_rental", "car-a", {"driver_age": None}, "driver_age"),
        ("car_rental", "car-a", {"return_date": "2030-11-30"}, "return_date"),
    ],
)
async def test_invalid_request_names_the_field(
    cluster: SandboxCluster,
    client: httpx2.AsyncClient,
    kind: str,
    partner_id: str,
    change: dict[str, Any],
    field: str,
) -> None:
    response = await quote(client, cluster[partner_id], {**REQUESTS[kind], **change})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["field"] == field


async def test_body_must_be_a_json_object(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    response = await quote(client, cluster["car-a"], ["NRT"])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_dates_in_requests_are_dates() -> None:
    for body in REQUESTS.values():
        for name, value in body.items():
            if name.endswith("_date"):
                date.fromisoformat(value)
