"""A fifth partner kind (hotels) joins through an adapter and recipe data alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bundles import RECIPES_DIR
from gateway.client.journeys import TRAVEL_PARTNER_KINDS, TripPlan, compose_request, full_consent
from gateway.runtime import running_gateway
from gateway.settings import GatewaySettings, PartnerSettings
from partnergateway.v1 import solution_pb2, solution_service_pb2_grpc
from sandbox import PartnerSpec, start_sandbox
from tests.support import SandboxControl, Stub, token_channel

ROOT = Path(__file__).resolve().parents[2]
HOTEL_COMPONENT = """
  - kind: hotel
    partner_kind: hotel
    title: Hotel for every night away
    params:
      city_airport: $trip.destination_airport
      check_in: $component.flight.arrival_date
      check_out: $trip.return_date
      guests: $trip.traveller_count
"""


class HotelCatalogue:
    """Two room types at any airport city, priced per night and per room of two."""

    def quote(self, request: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        nights = (
            date.fromisoformat(request["check_out"]) - date.fromisoformat(request["check_in"])
        ).days
        rooms = (int(request["guests"]) + 1) // 2
        return [
            {
                "product_code": f"HTL-{code}",
                "title": f"{label}, {rooms} room(s), {nights} nights",
                "price": {
                    "currency_code": "JPY",
                    "base": str(Decimal(rate) * nights * rooms),
                    "tax": str(Decimal(rate) * nights * rooms / 10),
                },
                "rating": rating,
                "details": {"nights": nights, "rooms": rooms},
            }
            for code, label, rate, rating in (
                ("STD", "Standard", 12000, 4.1),
                ("SUP", "Superior", 18000, 4.6),
            )
        ]


async def test_a_hotel_kind_needs_no_gateway_change(
    gateway_settings: GatewaySettings, control: SandboxControl, tmp_path: Path
) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    bundled = (RECIPES_DIR / "travel_abroad.yaml").read_text()
    (recipes / "travel_abroad.yaml").write_text(
        bundled.replace("version: 1", "version: 2") + HOTEL_COMPONENT
    )
    hotel = PartnerSpec(
        partner_id="hotel-a", kind="hotel", name="Sakura Hotels", catalogue=HotelCatalogue()
    )

    async with await start_sandbox([hotel]) as hotels:
        running = hotels.partners["hotel-a"]
        settings = gateway_settings.model_copy(
            update={
                "state_dir": tmp_path / "state",
                "composition": gateway_settings.composition.model_copy(
                    update={"recipe_dirs": [recipes]}
                ),
                "partners": [
                    *gateway_settings.partners,
                    PartnerSettings(
                        id="hotel-a",
                        kind="hotel",
                        name="Sakura Hotels",
                        base_url=running.base_url,
                        client_secret=running.spec.client_secrets["partner-gateway"],
                        adapter="tests.e2e.hotel_adapter:create",
                        local=True,
                    ),
                ],
            }
        )
        async with (
            running_gateway(settings, "127.0.0.1:0") as gateway,
            token_channel(settings, gateway) as channel,
        ):
            stub: Stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
            plan = TripPlan.sample(datetime.now(UTC).date())
            response = await stub.ComposeSolution(
                compose_request(
                    "flight", plan, consent=full_consent(kinds=(*TRAVEL_PARTNER_KINDS, "hotel"))
                ),
                timeout=10,
            )

    solution = response.solution
    assert solution.recipe == "travel_abroad@2"
    assert [c.kind for c in solution.components][-1] == "hotel"
    room = solution.components[-1]
    assert room.status == solution_pb2.COMPONENT_STATUS_OK
    assert room.offer.partner_id == "hotel-a"
    assert room.offer.product_code == "HTL-STD"  # the cheaper room wins
    assert room.offer.attributes == {"nights": "7", "rooms": "2"}
    assert all(c.status == solution_pb2.COMPONENT_STATUS_OK for c in solution.components)


def test_composition_core_names_no_partner_kind() -> None:
    """Composition (with its service), the domain values, server and storage work for any
    kind a recipe names: none of them may special-case a partner kind. (Entry kinds are the
    contract's, in normalize.py.)"""
    core = [
        *(ROOT / "gateway" / "composition").rglob("*.py"),
        *(ROOT / "gateway" / "model").rglob("*.py"),
        *(ROOT / "gateway" / "storage").rglob("*.py"),
        *(ROOT / "gateway" / name for name in ("partners.py", "server.py", "runtime.py")),
    ]
    for path in core:
        text = path.read_text().lower()
        for kind in ("telecom", "airline", "insurer", "car_rental", "hotel"):
            assert kind not in text, f"{path.relative_to(ROOT)} names the kind {kind!r}"
