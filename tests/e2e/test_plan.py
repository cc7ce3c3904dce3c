"""One coherent trip plan, end to end through real gRPC and the sandbox partners: built around
what the customer already holds, parts that fit together, for the whole party, in the
customer's language, with every input problem named at once."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundles import geo
from gateway.client.journeys import (
    DEFAULT_ENTRY_PARTNERS,
    ENTRY_KINDS,
    HeldProduct,
    Person,
    TripPlan,
    book_request,
    compose_request,
    direct_sale_quote,
)
from gateway.money import from_money, totals_by_currency
from gateway.runtime import RunningGateway
from gateway.settings import GatewaySettings
from partnergateway.v1 import order_service_pb2_grpc, solution_pb2, solution_service_pb2
from tests.e2e.booking_support import final_order
from tests.support import (
    SandboxControl,
    Stub,
    rich_status,
    violated_fields,
    write_client_config,
)

OK = solution_pb2.COMPONENT_STATUS_OK
HELD = solution_pb2.COMPONENT_STATUS_HELD
UNAVAILABLE = solution_pb2.COMPONENT_STATUS_UNAVAILABLE
NOT_APPLICABLE = solution_pb2.COMPONENT_STATUS_NOT_APPLICABLE
TODAY = datetime.now(UTC).date()
# Partner kind of the partners a customer can buy from directly, and the entry kind they report.
SELLERS = {
    "airline-a": ("airline", "flight"),
    "airline-b": ("airline", "flight"),
    "insurer-a": ("insurer", "insurance"),
    "car-a": ("car_rental", "car"),
    "car-b": ("car_rental", "car"),
}


async def compose(
    stub: Stub, request: solution_service_pb2.ComposeSolutionRequest, wait_s: float = 15
) -> solution_pb2.Solution:
    response = await stub.ComposeSolution(request, timeout=wait_s)
    solution: solution_pb2.Solution = response.solution
    return solution


def component(solution: solution_pb2.Solution, kind: str) -> solution_pb2.Component:
    return next(c for c in solution.components if c.kind == kind)


def person(
    age_years: int, *, driver: bool = False, residence: str = "CN", on: date = TODAY
) -> Person:
    born = date(on.year - age_years, 1, 1) if age_years else on - timedelta(days=100)
    return Person(
        "Wei",
        "Li",
        born,
        driver=driver,
        residence_region_code=residence,
        phone_number="+8613800138000",
    )


async def buy(control: SandboxControl, partner_id: str, plan: TripPlan) -> HeldProduct:
    """The customer buys at `partner_id`'s own counter before asking anyone else."""
    reference = await control.sell(partner_id, direct_sale_quote(SELLERS[partner_id][0], plan))
    return HeldProduct(partner_id, reference)


def entry_partner(kind: str, held: list[HeldProduct]) -> str:
    """Who reports the entry: the partner the customer bought this kind from, if any."""
    for product in held:
        if SELLERS[product.partner_id][1] == kind:
            return product.partner_id
    return DEFAULT_ENTRY_PARTNERS[kind]


@st.composite
def trips_with_holdings(draw: st.DrawFn) -> tuple[TripPlan, list[str]]:
    region, airport = draw(st.sampled_from([("JP", "NRT"), ("TH", "BKK"), ("FR", "CDG")]))
    depart = TODAY + timedelta(days=draw(st.integers(2, 200)))
    back = depart + timedelta(days=draw(st.integers(2, 20)))
    others = draw(
        st.lists(
            st.builds(
                Person,
                given_name=st.just("Min"),
                family_name=st.just("Zhang"),
                birth_date=st.dates(date(1950, 1, 1), TODAY - timedelta(days=400)),
                driver=st.booleans(),
                phone_number=st.just("+8613800138001"),
            ),
            max_size=4,
        )
    )
    lead = Person("Wei", "Li", date(1980, 5, 5), driver=True, phone_number="+8613800138000")
    held = draw(
        st.lists(
            st.sampled_from([["airline-a"], ["airline-b"], ["insurer-a"], ["car-a"], ["car-b"]]),
            max_size=3,
        )
    )
    # At most one product of each kind.
    chosen: dict[str, str] = {}
    for (partner,) in held:
        chosen.setdefault(SELLERS[partner][0], partner)
    return TripPlan(region, airport, depart, back, (lead, *others)), sorted(chosen.values())


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=trips_with_holdings())
async def test_same_trip_and_holdings_give_the_same_plan_from_every_entry(
    stub: Stub, control: SandboxControl, case: tuple[TripPlan, list[str]]
) -> None:
    plan, sellers = case
    held = [await buy(control, partner, plan) for partner in sellers]

    solutions = [
        await compose(stub, compose_request(kind, plan, entry_partner(kind, held), held=held))
        for kind in ENTRY_KINDS
    ]

    assert len({s.fingerprint for s in solutions}) == 1, [s.entry.partner_id for s in solutions]
    for solution in solutions:
        held_components = [c for c in solution.components if c.status == HELD]
        assert sorted(c.held.reference for c in held_components) == sorted(
            h.reference for h in held
        )
        for c in held_components:
            assert c.reason_code == "held_by_customer"
            assert not c.HasField("offer")
            assert not c.alternatives
            assert c.held.partner_id in sellers
        ok = [c.offer.price.total for c in solution.components if c.status == OK]
        assert solution.totals == totals_by_currency((m.currency_code, from_money(m)) for m in ok)


async def test_the_entry_booking_is_held_with_its_real_details_and_not_sold_again(
    stub: Stub, control: SandboxControl
) -> None:
    plan = TripPlan.sample(TODAY)
    pnr = await buy(control, "airline-a", plan)

    solution = await compose(stub, compose_request("flight", plan, "airline-a", held=[pnr]))

    flight = component(solution, "flight")
    assert flight.status == HELD
    assert flight.held.partner_id == "airline-a"
    assert flight.held.reference == pnr.reference
    for key in ("outbound_flight_number", "outbound_departs_at", "outbound_arrives_at"):
        assert flight.held.attributes[key]
    assert not flight.HasField("offer")
    ok = [c.offer.price.total for c in solution.components if c.status == OK]
    assert solution.totals == totals_by_currency((m.currency_code, from_money(m)) for m in ok)
    # Never quoted: the customer has it.
    assert await control.count("airline-a", "quote") == 0
    assert await control.count("airline-b", "quote") == 0
    assert await control.count("airline-a", "retrieve") == 1


async def test_a_forged_reference_is_refused_and_nothing_is_composed(
    stub: Stub, control: SandboxControl
) -> None:
    plan = TripPlan.sample(TODAY)
    request = compose_request("roaming", plan, held=[HeldProduct("airline-b", "PR-FORGED")])

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await compose(stub, request)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(rich_status(caught.value)) == {"held_products[0].reference"}
    for partner in ("telecom-cn", "airline-a", "airline-b", "insurer-a", "car-a", "car-b"):
        assert await control.count(partner, "quote") == 0


async def test_in_sydney_the_car_is_picked_up_the_day_the_flight_lands(
    stub: Stub, control: SandboxControl
) -> None:
    depart = TODAY + timedelta(days=40)
    plan = TripPlan("AU", "SYD", depart, depart + timedelta(days=10))

    solution = await compose(stub, compose_request("roaming", plan))

    flight, car = component(solution, "flight"), component(solution, "car")
    assert flight.status == OK
    assert car.status == OK
    assert list(car.depends_on) == ["flight"]
    lands = datetime.fromisoformat(flight.offer.attributes["outbound_arrives_at"])
    local_arrival = geo.AIRPORTS["SYD"].local(lands).date()
    # The car chosen was quoted for the local day the flight lands, never before it.
    chosen_partner = car.offer.partner_id
    quotes = [e["request"] for e in await control.ledger(chosen_partner, "quote")]
    assert quotes[-1]["pickup_date"] == local_arrival.isoformat()
    assert date.fromisoformat(quotes[-1]["pickup_date"]) >= depart


@pytest.mark.parametrize("size", [6, 9])
async def test_the_whole_party_is_seated_and_infants_need_no_line(stub: Stub, size: int) -> None:
    travellers = (
        person(40, driver=True),
        person(38, driver=True),
        *(person(10) for _ in range(size - 3)),
        person(0),  # an infant
    )
    depart = TODAY + timedelta(days=30)
    plan = TripPlan("JP", "NRT", depart, depart + timedelta(days=5), travellers)

    solution = await compose(stub, compose_request("roaming", plan))

    car = component(solution, "car")
    if car.status == OK:
        assert int(car.offer.attributes["seats"]) >= size
    else:
        assert car.reason_code == "party_does_not_fit"
    connectivity = component(solution, "connectivity")
    assert connectivity.status == OK
    assert connectivity.offer.attributes["lines"] == str(size - 1)


async def test_the_insurer_covers_whom_it_can_and_names_the_others(stub: Stub) -> None:
    travellers = (person(40, driver=True), person(38, residence="JP"), person(85))
    depart = TODAY + timedelta(days=30)
    plan = TripPlan("TH", "BKK", depart, depart + timedelta(days=5), travellers)

    solution = await compose(stub, compose_request("roaming", plan))

    insurance = component(solution, "insurance")
    assert insurance.status == OK
    notes = {n.traveller_index: n.reason_code for n in insurance.uncovered_travellers}
    assert notes == {1: "residence_not_covered", 2: "age_not_covered"}
    assert all(n.reason for n in insurance.uncovered_travellers)
    assert insurance.offer.attributes["insured"] == "1"


async def test_a_young_driver_gets_a_rule_not_no_offers(stub: Stub) -> None:
    depart = TODAY + timedelta(days=30)
    young = (person(19, driver=True), person(45))
    plan = TripPlan("JP", "NRT", depart, depart + timedelta(days=5), young)

    car = component(await compose(stub, compose_request("roaming", plan)), "car")

    assert car.status == NOT_APPLICABLE
    assert car.reason_code == "driver_too_young"
    assert "21" in car.reason


async def test_a_trip_today_offers_no_departed_flight(stub: Stub) -> None:
    plan = TripPlan("JP", "NRT", TODAY, TODAY + timedelta(days=3))

    solution = await compose(stub, compose_request("roaming", plan))

    flight = component(solution, "flight")
    soonest = datetime.now(UTC) + timedelta(hours=2)
    if flight.status == OK:
        for offer in [flight.offer, *flight.alternatives]:
            assert datetime.fromisoformat(offer.attributes["outbound_departs_at"]) >= soonest
    else:
        assert flight.reason_code in {"no_offers", "departs_too_soon"}
        assert component(solution, "car").reason_code == "depends_on_unavailable"


async def test_no_car_without_a_flight_to_get_there(stub: Stub, control: SandboxControl) -> None:
    for airline in ("airline-a", "airline-b"):
        await control.set_knobs(airline, outage=True)
    day = TODAY + timedelta(days=20)
    plan = TripPlan("JP", "NRT", day, day)  # a same-day trip

    solution = await compose(stub, compose_request("roaming", plan))

    assert component(solution, "flight").status == UNAVAILABLE
    assert component(solution, "flight").reason_code == "partners_unavailable"
    car = component(solution, "car")
    assert car.status == UNAVAILABLE
    assert car.reason_code == "depends_on_unavailable"
    assert "flight" in car.reason.lower()


async def test_the_language_changes_the_text_never_the_plan(stub: Stub) -> None:
    plan = TripPlan.sample(TODAY)

    english = await compose(stub, compose_request("roaming", plan, language_code="en"))
    chinese = await compose(stub, compose_request("roaming", plan, language_code="zh-Hans-CN"))

    assert english.fingerprint == chinese.fingerprint
    assert english.language_code == "en"
    assert chinese.language_code == "zh-CN"
    for en, zh in zip(english.components, chinese.components, strict=True):
        assert en.reason_code == zh.reason_code
        assert en.title != zh.title
        assert en.reason != zh.reason
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.title + zh.reason)
    cny = next(i for i, m in enumerate(english.totals) if m.currency_code == "CNY")
    assert english.totals_text[cny].startswith("CN¥")
    assert chinese.totals_text[cny].startswith("¥")


async def test_every_problem_is_named_at_once(stub: Stub) -> None:
    plan = TripPlan(
        "JP",
        "NRT",
        TODAY + timedelta(days=10),
        TODAY + timedelta(days=5),  # return before departure
        (
            Person("Wei", "Li", date(1980, 1, 1), driver=True),
            Person("Min", "", TODAY + timedelta(days=60)),  # no family name, born after departure
        ),
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await compose(stub, compose_request("roaming", plan))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(rich_status(caught.value)) >= {
        "entry.roaming.end_date",
        "travellers[1].family_name",
        "travellers[1].birth_date",
    }


async def test_booking_a_plan_with_a_held_flight_books_only_the_rest(
    channel: grpc.aio.Channel, stub: Stub, control: SandboxControl
) -> None:
    plan = TripPlan.sample(TODAY)
    pnr = await buy(control, "airline-b", plan)
    solution = await compose(stub, compose_request("flight", plan, "airline-b", held=[pnr]))
    assert component(solution, "flight").status == HELD

    orders = order_service_pb2_grpc.OrderServiceStub(channel)
    response = await orders.BookSolution(
        book_request(solution.solution_id, plan, "book-held-1", "airline-b"), timeout=30
    )
    order = await final_order(channel, response.order.order_id, "airline-b")

    assert "flight" not in {c.kind for c in order.components}
    assert await control.count("airline-a", "hold") == 0
    assert await control.count("airline-b", "hold") == 0
    assert {c.kind for c in order.components} == {
        c.kind for c in solution.components if c.status == OK
    }


async def test_an_invalid_request_is_explained_in_the_customers_language(stub: Stub) -> None:
    plan = TripPlan("JP", "NRT", TODAY + timedelta(days=10), TODAY + timedelta(days=5))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await compose(stub, compose_request("roaming", plan, language_code="zh-CN"))

    status = rich_status(caught.value)
    told = [
        message
        for detail in status.details
        if detail.Unpack(message := error_details_pb2.LocalizedMessage())
    ]
    assert [m.locale for m in told] == ["zh-CN"]
    assert "entry.roaming.end_date" in told[0].message
    assert "请更正" in told[0].message
    assert violated_fields(status) == {"entry.roaming.end_date"}


async def test_the_cli_composes_around_a_held_product_in_chinese(
    gateway: RunningGateway,
    gateway_settings: GatewaySettings,
    control: SandboxControl,
    stub: Stub,
    tmp_path: Path,
) -> None:
    depart = TODAY + timedelta(days=45)
    plan = TripPlan("JP", "NRT", depart, depart + timedelta(days=7))
    policy = await buy(control, "insurer-a", plan)
    config = write_client_config(gateway_settings, gateway, tmp_path / "cli.yaml")

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "compose",
        "--entry=roaming",
        "--destination=JP",
        f"--depart={plan.depart.isoformat()}",
        f"--return={plan.back.isoformat()}",
        f"--target={gateway.target}",
        f"--held=insurer-a:{policy.reference}",
        "--language=zh-CN",
        "--json",
        f"--config={config}",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()

    assert process.returncode == 0, err.decode()
    printed = json.loads(out)
    assert printed["language_code"] == "zh-CN"
    insurance = next(c for c in printed["components"] if c["kind"] == "insurance")
    assert insurance["status"] == "held"
    assert insurance["reference"] == policy.reference
    assert "您已拥有此项" in insurance["reason"]
