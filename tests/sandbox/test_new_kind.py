"""A new partner kind, registered by a test, served without touching the sandbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from sandbox import CatalogueError, PartnerSpec, register_catalogue, start_sandbox
from tests.sandbox.support import offers, quote


class HotelCatalogue:
    """Two room types per night, in EUR."""

    def __init__(self, spec: PartnerSpec) -> None:
        self._factor = spec.brand.price_factor

    def quote(self, request: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        nights = request.get("nights")
        if not isinstance(nights, int) or nights < 1:
            raise CatalogueError("nights must be a positive integer", "nights")
        rooms = (("STD", "Standard room", Decimal("120")), ("SUP", "Superior room", Decimal(180)))
        return [
            {
                "product_code": code,
                "title": f"{title}, {nights} nights",
                "price": {
                    "currency_code": "EUR",
                    "base": f"{rate * nights * self._factor:.2f}",
                    "tax": f"{rate * nights * self._factor * Decimal('0.1'):.2f}",
                },
                "rating": 4.0,
                "details": {"room": code.lower(), "nights": nights},
            }
            for code, title, rate in rooms
        ]


@pytest.fixture(scope="module", autouse=True)
def hotel_kind() -> None:
    register_catalogue("hotel", HotelCatalogue, replace=True)


async def test_new_kind_is_served(client: httpx2.AsyncClient) -> None:
    spec = PartnerSpec("hotel-a", "hotel", "Harbour View Hotels")
    async with await start_sandbox([spec], ports={"hotel-a": 0}) as cluster:
        hotel = cluster["hotel-a"]
        found = await offers(client, hotel, {"nights": 3})
        assert [o["product_code"] for o in found] == ["STD", "SUP"]
        assert found[0]["price"] == {"currency_code": "EUR", "base": "360.00", "tax": "36.00"}
        assert found[0]["offer_id"].startswith("of_")

        refused = await quote(client, hotel, {"nights": 0})
        assert refused.status_code == 400
        assert refused.json()["error"]["field"] == "nights"


def test_kinds_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_catalogue("airline", HotelCatalogue)


async def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="no catalogue"):
        await start_sandbox([PartnerSpec("ship-a", "cruise", "Sea Lines")])
