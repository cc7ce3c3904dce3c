"""ComposeSolution end to end: real gRPC to the gateway, real HTTP to the sandbox partners."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.client import GatewayClient
from gateway.client.journeys import ENTRY_KINDS, Person, TripPlan, compose_request
from partnergateway.v1 import solution_pb2, solution_service_pb2
from tests.support import SandboxControl, Stub

OK = solution_pb2.COMPONENT_STATUS_OK
TODAY = datetime.now(UTC).date()
DESTINATIONS = [("JP", "NRT"), ("TH", "BKK"), ("FR", "CDG"), ("US", "LAX")]


async def compose(
    stub: Stub,
    request: solution_service_pb2.ComposeSolutionRequest,
    wait_s: float = 10,
) -> solution_pb2.Solution:
    response = await stub.ComposeSolution(request, timeout=wait_s)
    solution: solution_pb2.Solution = response.solution
    return solution


def component(solution: solution_pb2.Solution, kind: str) -> solution_pb2.Component:
    return next(c for c in solution.components if c.kind == kind)


async def test_sample_trip_gives_four_ok_components_with_money_and_expiry(
    stub: Stub,
) -> None:
    solution = await compose(stub, compose_request("roaming", TripPlan.sample(TODAY)))

    assert [c.kind for c in solution.components] == ["connectivity", "flight", "insurance", "car"]
    assert all(c.status == OK for c in solution.components)
    flight = component(solution, "flight")
    assert flight.offer.partner_id in {"airline-a", "airline-b"}
    assert flight.offer.price.total.currency_code == "CNY"
    assert component(solution, "car").offer.price.total.currency_code == "JPY"
    assert {m.currency_code for m in solution.totals} == {"CNY", "JPY"}
    assert solution.trip.destination_airport == "NRT"
    assert solution.trip.days == 8
    earliest = min(c.offer.expire_time.ToNanoseconds() for c in solution.components)
    assert solution.expire_time.ToNanoseconds() == earliest
    for c in solution.components:
        price = c.offer.price
        assert price.base.units + price.tax.units <= price.total.units + 1


@st.composite
def trips(draw: st.DrawFn) -> TripPlan:
    region, airport = draw(st.sampled_from(DESTINATIONS))
    depart = TODAY + timedelta(days=draw(st.integers(1, 300)))
    back = depart + timedelta(days=draw(st.integers(1, 30)))  # at least one night away
    people = draw(
        st.lists(
            st.builds(
                Person,
                given_name=st.sampled_from(["Wei", "Min", "Jun", "Lan"]),
                family_name=st.sampled_from(["Li", "Wang", "Chen"]),
                birth_date=st.dates(date(1940, 1, 1), TODAY - timedelta(days=1)),
                driver=st.booleans(),
                home_airport=st.just("PVG"),
                phone_number=st.just("+8613800138000"),
            ),
            min_size=0,
            max_size=8,
        )
    )
    lead = Person(
        "Wei",
        "Li",
        draw(st.dates(date(1940, 1, 1), TODAY - timedelta(days=19 * 366))),
        driver=draw(st.booleans()),
        phone_number="+8613800138000",
    )
    return TripPlan(region, airport, depart, back, (lead, *people))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=trips())
async def test_every_entry_gives_the_same_solution(stub: Stub, plan: TripPlan) -> None:
    solutions = [await compose(stub, compose_request(kind, plan)) for kind in ENTRY_KINDS]

    assert len({s.fingerprint for s in solutions}) == 1
    first = solutions[0]
    for other in solutions[1:]:
        assert other.trip == first.trip
        for mine, theirs in zip(first.components, other.components, strict=True):
            assert (mine.kind, mine.status, mine.offer.offer_id) == (
                theirs.kind,
                theirs.status,
                theirs.offer.offer_id,
            )
            assert mine.offer.price == theirs.offer.price
        assert other.totals == first.totals
    assert len({s.solution_id for s in solutions}) == 4
    assert component(first, "flight").status == OK
    assert component(first, "connectivity").status == OK
    drivers = [t.age for t in first.trip.travellers if t.driver]
    car = component(first, "car")
    if not drivers:
        assert car.status == solution_pb2.COMPONENT_STATUS_NOT_APPLICABLE
    elif max(drivers) >= 25:
        assert car.status == OK


async def test_no_driver_means_no_car_and_no_car_partner_called(
    stub: Stub, control: SandboxControl
) -> None:
    plan = TripPlan.sample(TODAY)
    passengers = tuple(Person(p.given_name, p.family_name, p.birth_date) for p in plan.travellers)
    plan = TripPlan(
        plan.destination_region, plan.destination_airport, plan.depart, plan.back, passengers
    )

    solution = await compose(stub, compose_request("flight", plan))

    car = component(solution, "car")
    assert car.status == solution_pb2.COMPONENT_STATUS_NOT_APPLICABLE
    assert car.reason_code == "no_driver"
    assert car.reason == "No traveller may drive, so no car is offered"
    assert await control.count("car-a", "quote") == 0
    assert await control.count("car-b", "quote") == 0


async def test_the_entry_partner_gets_no_favour(
    stub: Stub,
) -> None:
    plan = TripPlan.sample(TODAY)
    via_a = await compose(stub, compose_request("flight", plan, "airline-a"))
    via_b = await compose(stub, compose_request("flight", plan, "airline-b"))

    assert via_a.fingerprint == via_b.fingerprint
    assert component(via_a, "flight").offer.offer_id == component(via_b, "flight").offer.offer_id


async def test_stream_sends_each_component_then_the_solution(
    stub: Stub,
) -> None:
    request = compose_request("insurance", TripPlan.sample(TODAY))
    stream_request = solution_service_pb2.StreamSolutionRequest.FromString(
        request.SerializeToString()
    )

    updates = [u async for u in stub.StreamSolution(stream_request, timeout=10)]

    assert [u.WhichOneof("update") for u in updates] == ["component"] * 4 + ["solution"]
    streamed = {u.component.kind: u.component for u in updates[:-1]}
    solution = updates[-1].solution
    assert {c.kind: c for c in solution.components} == streamed


async def test_get_solution_returns_what_compose_returned(
    stub: Stub, client: GatewayClient
) -> None:
    solution = await compose(stub, compose_request("car", TripPlan.sample(TODAY)))

    # As its owner, the entry partner (others get NOT_FOUND): the request names no partner.
    fetched = await client.for_partner("car-a").solutions.GetSolution(
        solution_service_pb2.GetSolutionRequest(solution_id=solution.solution_id), timeout=5
    )

    assert fetched.solution == solution


async def test_get_unknown_solution_is_not_found(
    stub: Stub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetSolution(solution_service_pb2.GetSolutionRequest(solution_id="sol_nope"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
