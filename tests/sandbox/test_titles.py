"""Product titles are read by people: one day is "1 day"."""

from __future__ import annotations

import httpx2

from sandbox import SandboxCluster
from tests.sandbox.support import REQUESTS, offers


async def test_a_one_day_rental_and_cover_say_1_day(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    one_day = {"return_date": "2030-12-02"}
    cars = await offers(client, cluster["car-a"], {**REQUESTS["car_rental"], **one_day})
    covers = await offers(
        client, cluster["insurer-a"], {**REQUESTS["insurer"], "end_date": "2030-12-01"}
    )

    assert cars
    assert covers
    for offer in (*cars, *covers):
        assert "1 days" not in offer["title"]
    assert cars[0]["title"].endswith(", 1 day at NRT")
    assert covers[0]["title"].endswith(", 1 day")
