"""`gateway.composition.Composer` on in-memory fake partners: the travel_abroad recipe's fan-out,
choice, failures, consent and dependent re-asks, in milliseconds. The same journeys through
real gRPC and sandbox partners are in tests/e2e/."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters import PartnerConfig, PartnerUnavailable, QuoteRequest
from adapters.testing import FakeAdapter, FakePartner, offer
from bundles import TravellerFacts, Trip, load_recipes
from gateway.composition import Composer, CompositionReport
from gateway.i18n import Language, texts
from gateway.partners import PartnerDirectory
from gateway.telemetry import PartnerCallObserver, Telemetry
from partnergateway.v1 import solution_pb2

pytestmark = pytest.mark.unit

OK = solution_pb2.COMPONENT_STATUS_OK
DEPART = date.today() + timedelta(days=30)
TRIP = Trip(
    home_region="CN",
    origin_airport="PVG",
    destination_region="JP",
    destination_airport="NRT",
    depart_date=DEPART,
    return_date=DEPART + timedelta(days=7),
    travellers=(
        TravellerFacts(age=38, driver=True, residence_region="CN"),
        TravellerFacts(age=36, driver=False, residence_region="CN"),
    ),
)
RECIPE = load_recipes()["travel_abroad"]
ENTRY = solution_pb2.EntrySummary(partner_id="telecom-cn", kind="roaming")
KINDS = {
    "telecom-cn": "telecom",
    "airline-a": "airline",
    "airline-b": "airline",
    "insurer-a": "insurer",
    "car-a": "car_rental",
    "car-b": "car_rental",
}


def at(day: date, clock: str, zone: str) -> str:
    return f"{day.isoformat()}T{clock}:00{zone}"


def flight_attributes(lands_next_day: bool = False) -> dict[str, str]:
    """A round trip PVG–NRT on the trip's dates; overnight, it lands the next local day."""
    back = TRIP.return_date
    leaves, lands = ("23:30", "03:40") if lands_next_day else ("09:00", "13:10")
    return {
        "outbound_origin": "PVG",
        "outbound_destination": "NRT",
        "outbound_departs_at": at(DEPART, leaves, "+08:00"),
        "outbound_arrives_at": at(DEPART + timedelta(days=lands_next_day), lands, "+09:00"),
        "inbound_origin": "NRT",
        "inbound_destination": "PVG",
        "inbound_departs_at": at(back, "15:00", "+09:00"),
        "inbound_arrives_at": at(back, "17:20", "+08:00"),
    }


@dataclass
class Partners:
    fakes: dict[str, FakePartner]
    adapters: dict[str, FakeAdapter]

    def quotes(self, partner_id: str) -> list[QuoteRequest]:
        return [c.request for c in self.adapters[partner_id].called("quote") if c.request]


def partners(prices: Mapping[str, Sequence[str]] | None = None) -> Partners:
    """Every partner of the recipe, each quoting one offer (at `prices`, when given)."""
    fakes: dict[str, FakePartner] = {}
    for pid, kind in KINDS.items():
        attributes = (
            flight_attributes()
            if kind == "airline"
            else {"seats": "5"}
            if kind == "car_rental"
            else {}
        )
        made = [
            offer(pid, f"{pid}-{i}", base, attributes=attributes)
            for i, base in enumerate((prices or {}).get(pid, ["100.00"]))
        ]
        fakes[pid] = FakePartner(pid, made)
    return Partners(fakes, {pid: FakeAdapter(pid, KINDS[pid], f) for pid, f in fakes.items()})


def composer(p: Partners) -> Composer:
    directory = PartnerDirectory(
        (
            PartnerConfig(pid, a.kind, pid, "http://fake.test", "http://fake.test/t", "c", "s"),
            a,
        )
        for pid, a in p.adapters.items()
    )
    telemetry = Telemetry()
    return Composer(directory, PartnerCallObserver(telemetry, telemetry.metrics))


async def compose(
    p: Partners,
    budget_s: float = 1.0,
    report: CompositionReport | None = None,
    may_ask: set[str] | None = None,
) -> solution_pb2.Solution:
    last: object = None
    async for update in composer(p).compose(
        RECIPE,
        TRIP,
        ENTRY,
        time.monotonic() + budget_s,
        texts(Language.EN),
        may_ask=lambda pid, kind: may_ask is None or pid in may_ask,
        report=report,
        now=datetime.now(UTC),
    ):
        last = update
    assert isinstance(last, solution_pb2.Solution)
    return last


def component(solution: solution_pb2.Solution, kind: str) -> solution_pb2.Component:
    return next(c for c in solution.components if c.kind == kind)


def outcomes(c: solution_pb2.Component) -> dict[str, str]:
    return {p.partner_id: p.outcome for p in c.partners}


async def test_every_component_is_chosen_cheapest_first() -> None:
    p = partners({"car-a": ["900.00"], "car-b": ["700.00"]})

    solution = await compose(p)

    assert [c.kind for c in solution.components] == ["connectivity", "flight", "insurance", "car"]
    assert all(c.status == OK for c in solution.components)
    car = component(solution, "car")
    assert car.offer.partner_id == "car-b"
    assert car.reason_code == "cheapest"
    assert [a.partner_id for a in car.alternatives] == ["car-a"]
    assert solution.fingerprint


async def test_a_failing_partner_is_named_and_its_competitor_chosen() -> None:
    p = partners()
    p.fakes["airline-a"].fail_next("quote", PartnerUnavailable("airline-a", "down"))

    solution = await compose(p)

    flight = component(solution, "flight")
    assert flight.status == OK
    assert flight.offer.partner_id == "airline-b"
    assert outcomes(flight) == {"airline-a": "unavailable", "airline-b": "ok"}


async def test_a_partner_slower_than_the_deadline_times_out_and_the_rest_arrive() -> None:
    p = partners()
    p.fakes["insurer-a"].latency_s["quote"] = 1.0
    started = time.monotonic()

    solution = await compose(p, budget_s=0.2)

    assert time.monotonic() - started < 1.0
    insurance = component(solution, "insurance")
    assert insurance.status == solution_pb2.COMPONENT_STATUS_UNAVAILABLE
    assert insurance.reason_code == "partners_unavailable"
    assert outcomes(insurance) == {"insurer-a": "timeout"}
    assert component(solution, "car").status == OK


async def test_partners_outside_the_consent_are_never_asked() -> None:
    p = partners()

    solution = await compose(p, may_ask=set(KINDS) - {"insurer-a", "car-b"})

    assert p.adapters["insurer-a"].calls == []
    assert p.adapters["car-b"].calls == []
    insurance = component(solution, "insurance")
    assert insurance.status == solution_pb2.COMPONENT_STATUS_CONSENT_REQUIRED
    assert outcomes(component(solution, "car"))["car-b"] == "consent_required"


async def test_the_car_is_asked_again_only_when_the_flight_moves_its_date() -> None:
    p = partners()
    report = CompositionReport()

    await compose(p, report=report)

    assert report.reasked == []
    assert len(p.quotes("car-a")) == 1

    overnight = partners()
    for pid in ("airline-a", "airline-b"):
        overnight.fakes[pid].offers = [
            offer(pid, f"{pid}-night", attributes=flight_attributes(lands_next_day=True))
        ]
    report = CompositionReport()

    solution = await compose(overnight, report=report)

    assert report.reasked == ["car"]
    first, again = overnight.quotes("car-a")
    assert first.params["pickup_date"] == DEPART.isoformat()  # provisional: lands the same day
    assert again.params["pickup_date"] == (DEPART + timedelta(days=1)).isoformat()
    assert component(solution, "car").status == OK
