"""Catalogue rules a coherent trip plan relies on: no flight inside the check-in margin, cars
that seat the whole party, insurance for everyone who can be covered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from sandbox import DEFAULT_PARTNERS, Knobs, SandboxCluster, start_sandbox
from sandbox.catalogues.airline import CHECK_IN_MARGIN
from tests.sandbox.support import REQUESTS, offers, quote


class FakeClock:
    """The partners' now, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now.timestamp()


def departures(found: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromisoformat(o["details"]["outbound"]["departs_at"]) for o in found]


async def test_no_flight_inside_the_check_in_margin(client: httpx2.AsyncClient) -> None:
    # PVG–NRT leaves at 08:25, 13:10 and 18:45 Shanghai time (00:25, 05:10, 10:45 UTC) plus
    # the airline's few minutes' shift; at 04:00 UTC only the evening flight is still sold.
    clock = FakeClock(datetime(2030, 3, 1, 4, 0, tzinfo=UTC))
    spec = replace(next(s for s in DEFAULT_PARTNERS if s.partner_id == "airline-a"), knobs=Knobs())
    today = {**REQUESTS["airline"], "depart_date": "2030-03-01", "return_date": "2030-03-08"}
    async with await start_sandbox([spec], clock=clock) as cluster:
        airline = cluster["airline-a"]

        found = await offers(client, airline, today)
        assert len(found) == 1
        assert all(d >= clock.now + CHECK_IN_MARGIN for d in departures(found))

        clock.now = datetime(2030, 2, 28, 12, 0, tzinfo=UTC)  # the day before: every flight
        assert len(await offers(client, airline, today)) == 3

        clock.now = datetime(2030, 3, 1, 10, 0, tzinfo=UTC)  # the last one closes at ~09:00
        assert await offers(client, airline, today) == []
        assert await offers(client, airline, {**today, "depart_date": "2030-03-02"})


def strip(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in o.items() if k not in ("offer_id", "expires_at")} for o in found]


def party(passengers: int, drivers: int = 1) -> dict[str, Any]:
    return {**REQUESTS["car_rental"], "passengers": passengers, "drivers": drivers}


async def test_a_party_of_six_gets_the_minivan(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    for drivers in (1, 2):
        found = await offers(client, cluster["car-a"], party(6, drivers))
        assert [o["details"]["car_class"] for o in found] == ["minivan"]
        assert (found[0]["details"]["cars"], found[0]["details"]["seats"]) == (1, 7)


async def test_a_party_of_nine_needs_two_cars_and_two_drivers(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    car = cluster["car-a"]
    assert await offers(client, car, party(9, drivers=1)) == []

    two = await offers(client, car, party(9, drivers=2))
    one = {o["details"]["car_class"]: o for o in await offers(client, car, party(1))}
    assert {o["details"]["car_class"] for o in two} == set(one)
    for offer in two:
        single = one[offer["details"]["car_class"]]
        assert offer["details"]["cars"] == 2
        assert offer["details"]["seats"] == 2 * single["details"]["seats"] >= 9
        assert offer["title"] == f"2 × {single['title']}"
        assert offer["product_code"] == f"{single['product_code']}-X2"
        for amount in ("base", "tax"):
            assert Decimal(offer["price"][amount]) == 2 * Decimal(single["price"][amount])
    minivans = [o for o in two if o["details"]["car_class"] == "minivan"]
    assert minivans[0]["title"] == "2 × Minivan (Toyota Noah or similar), 7 days at NRT"


async def test_everyone_fits_one_car_by_default(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    found = await offers(client, cluster["car-b"], REQUESTS["car_rental"])
    assert len(found) == 6
    assert all(o["details"]["cars"] == 1 for o in found)
    explicit = await offers(client, cluster["car-b"], party(1))
    # The same cars; only the offer ids differ, as they hash the request as sent.
    assert strip(explicit) == strip(found)


@pytest.mark.parametrize(
    ("change", "field"), [({"passengers": 10}, "passengers"), ({"drivers": 0}, "drivers")]
)
async def test_party_fields_are_checked(
    cluster: SandboxCluster, client: httpx2.AsyncClient, change: dict[str, Any], field: str
) -> None:
    response = await quote(client, cluster["car-a"], {**REQUESTS["car_rental"], **change})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def insured(*people: tuple[int, str]) -> dict[str, Any]:
    return {
        **REQUESTS["insurer"],
        "insured": [{"age": age, "residence_region": region} for age, region in people],
    }


async def test_the_insurer_covers_whom_it_can(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    insurer = cluster["insurer-a"]
    mixed = await offers(client, insurer, insured((34, "CN"), (36, "JP"), (85, "CN"), (6, "CN")))
    covered = await offers(client, insurer, insured((34, "CN"), (6, "CN")))
    assert [o["product_code"] for o in mixed] == [o["product_code"] for o in covered]
    for partial, full in zip(mixed, covered, strict=True):
        assert partial["price"] == full["price"], "only the covered persons pay"
        assert partial["details"]["insured"] == 2
        assert partial["details"]["not_covered"] == [
            {"index": 1, "reason": "residence_not_covered"},
            {"index": 2, "reason": "age_not_covered"},
        ]
        assert "not_covered" not in full["details"]


async def test_the_insurer_sells_nothing_when_nobody_is_covered(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    insurer = cluster["insurer-a"]
    assert await offers(client, insurer, insured((85, "CN"), (40, "US"), (81, "JP"))) == []
    home = {**insured((34, "CN")), "destination_region": "CN"}
    assert await offers(client, insurer, home) == []
    # Someone neither resident nor young enough is refused for residence, the first rule.
    [first, *_] = await offers(client, insurer, insured((34, "CN"), (90, "JP")))
    assert first["details"]["not_covered"] == [{"index": 1, "reason": "residence_not_covered"}]
