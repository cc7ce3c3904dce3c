"""Re-quoting the components of an expired solution before booking it.

An offer whose price lapsed is asked for again with the same parameters; the same product at
the same price keeps the booking going with the new offer id. A changed or vanished price is
reported, never silently accepted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from adapters import AdapterError, QuoteRequest
from bundles import ComponentSpec, Facts, FactsError, Recipe, TravellerFacts, Trip
from bundles.facts import offer_facts, provisional_facts
from gateway.model import ComponentRecord
from gateway.partners import PartnerDirectory
from partnergateway.v1 import solution_pb2


@dataclass(frozen=True)
class PriceChange:
    kind: str
    detail: str


def trip_of(solution: solution_pb2.Solution) -> Trip:
    t = solution.trip
    return Trip(
        home_region=t.home_region_code,
        origin_airport=t.origin_airport,
        destination_region=t.destination_region_code,
        destination_airport=t.destination_airport,
        depart_date=date(t.depart_date.year, t.depart_date.month, t.depart_date.day),
        return_date=date(t.return_date.year, t.return_date.month, t.return_date.day),
        travellers=tuple(
            TravellerFacts(age=p.age, driver=p.driver, residence_region=p.residence_region_code)
            for p in t.travellers
        ),
    )


def _dependency_facts(
    spec: ComponentSpec, recipe: Recipe | None, solution: solution_pb2.Solution, trip: Trip
) -> dict[str, Facts]:
    """The facts `spec` was quoted on: its dependencies' chosen or held offers, as composed."""
    facts: dict[str, Facts] = {}
    for kind in spec.depends_on:
        dependency = recipe.component(kind) if recipe else None
        if dependency is None:
            continue
        component = next((c for c in solution.components if c.kind == kind), None)
        attributes = None
        if component is not None and component.status == solution_pb2.COMPONENT_STATUS_OK:
            attributes = component.offer.attributes
        elif component is not None and component.status == solution_pb2.COMPONENT_STATUS_HELD:
            attributes = component.held.attributes
        try:
            facts[kind] = offer_facts(dependency.partner_kind, attributes or {})
        except FactsError:
            facts[kind] = provisional_facts(dependency.partner_kind, trip)
    return facts


async def requote(
    components: tuple[ComponentRecord, ...],
    solution: solution_pb2.Solution,
    recipes: Mapping[str, Recipe],
    directory: PartnerDirectory,
    budget_s: float,
) -> tuple[list[ComponentRecord], list[PriceChange]]:
    """Fresh offer ids for unchanged prices, and the changes that stop the booking."""
    recipe = recipes.get(solution.recipe.split("@")[0])
    trip = trip_of(solution)
    chosen = {c.kind: c.offer for c in solution.components}
    renewed: list[ComponentRecord] = []
    changes: list[PriceChange] = []
    deadline = time.monotonic() + budget_s
    for component in components:
        spec = (
            next((s for s in recipe.components if s.kind == component.kind), None)
            if recipe
            else None
        )
        adapter = directory.adapters().get(component.partner_id)
        if spec is None or adapter is None:
            changes.append(PriceChange(component.kind, "cannot re-quote: recipe or partner gone"))
            continue
        try:
            offers = await adapter.quote(
                QuoteRequest(
                    component=spec.kind,
                    params=spec.derive(trip, _dependency_facts(spec, recipe, solution, trip)),
                ),
                deadline=deadline,
            )
        except AdapterError as exc:
            changes.append(PriceChange(component.kind, f"re-quote failed: {exc.outcome}"))
            continue
        product = chosen[component.kind].product_code
        same = next((o for o in offers if o.product_code == product), None)
        if same is None:
            changes.append(PriceChange(component.kind, f"{product} is no longer offered"))
        elif (same.price.currency_code, same.price.base, same.price.tax) != (
            component.currency_code,
            Decimal(component.base),
            Decimal(component.tax),
        ):
            changes.append(
                PriceChange(
                    component.kind,
                    f"price changed from {component.base}+{component.tax} to "
                    f"{same.price.base}+{same.price.tax} {same.price.currency_code}",
                )
            )
        else:
            renewed.append(ComponentRecord(**{**component.__dict__, "offer_id": same.offer_id}))
    return renewed, changes
