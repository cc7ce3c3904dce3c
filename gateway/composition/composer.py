"""Composing a solution: the recipe's components, each from a concurrent partner fan-out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from adapters import QuoteRequest
from bundles import ComponentSpec, Recipe, Trip
from gateway.composition.fanout import PartnerAnswer, ask_partners
from gateway.composition.fingerprint import fingerprint
from gateway.composition.render import offer_message, trip_message
from gateway.composition.selection import order_offers
from gateway.money import from_money, totals_by_currency
from gateway.partners import PartnerDirectory
from gateway.telemetry import PartnerCallObserver
from partnergateway.v1 import solution_pb2

Status = solution_pb2.ComponentStatus


class Composer:
    """Turns a trip and a recipe into a solution by asking the partners of every component."""

    def __init__(self, directory: PartnerDirectory, observer: PartnerCallObserver) -> None:
        self._directory = directory
        self._observer = observer

    async def compose(
        self, recipe: Recipe, trip: Trip, entry: solution_pb2.EntrySummary, deadline: float
    ) -> AsyncIterator[solution_pb2.Component | solution_pb2.Solution]:
        """Yields each component as soon as it is settled, then the complete solution.

        Components are asked for concurrently; the solution lists them in recipe order.
        """
        tasks = [
            asyncio.create_task(self._indexed(index, spec, trip, recipe, deadline))
            for index, spec in enumerate(recipe.components)
        ]
        settled: dict[int, solution_pb2.Component] = {}
        try:
            for next_done in asyncio.as_completed(tasks):
                index, component = await next_done
                settled[index] = component
                yield component
        finally:
            # A caller that goes away (cancelled RPC) stops every partner call at once.
            for task in tasks:
                task.cancel()
        yield self._solution(recipe, trip, entry, [settled[i] for i in range(len(tasks))])

    async def _indexed(
        self, index: int, spec: ComponentSpec, trip: Trip, recipe: Recipe, deadline: float
    ) -> tuple[int, solution_pb2.Component]:
        return index, await self._component(spec, trip, recipe, deadline)

    async def _component(
        self, spec: ComponentSpec, trip: Trip, recipe: Recipe, deadline: float
    ) -> solution_pb2.Component:
        if not spec.applies(trip):
            return solution_pb2.Component(
                kind=spec.kind,
                status=Status.COMPONENT_STATUS_NOT_APPLICABLE,
                reason=spec.not_applicable_reason,
            )
        adapters = self._directory.of_kind(spec.partner_kind)
        if not adapters:
            return solution_pb2.Component(
                kind=spec.kind,
                status=Status.COMPONENT_STATUS_UNAVAILABLE,
                reason=f"no {spec.partner_kind} partner is configured",
            )
        request = QuoteRequest(component=spec.kind, params=spec.derive(trip))
        answers = await ask_partners(adapters, request, deadline, self._observer)
        return self._settle(spec, recipe, answers)

    def _settle(
        self, spec: ComponentSpec, recipe: Recipe, answers: list[PartnerAnswer]
    ) -> solution_pb2.Component:
        outcomes = [
            solution_pb2.PartnerOutcome(
                partner_id=a.partner_id,
                outcome=a.outcome,
                offer_count=len(a.offers),
                detail=a.detail,
            )
            for a in sorted(answers, key=lambda a: a.partner_id)
        ]
        ranked = order_offers([o for a in answers for o in a.offers], recipe.selection)
        if not ranked:
            reason = "; ".join(f"{a.partner_id}: {a.outcome}" for a in answers)
            return solution_pb2.Component(
                kind=spec.kind,
                status=Status.COMPONENT_STATUS_UNAVAILABLE,
                reason=f"no offer: {reason}",
                partners=outcomes,
            )
        offers = [offer_message(o, self._directory.name(o.partner_id)) for o in ranked]
        return solution_pb2.Component(
            kind=spec.kind,
            status=Status.COMPONENT_STATUS_OK,
            offer=offers[0],
            alternatives=offers[1:],
            partners=outcomes,
        )

    @staticmethod
    def _solution(
        recipe: Recipe,
        trip: Trip,
        entry: solution_pb2.EntrySummary,
        components: list[solution_pb2.Component],
    ) -> solution_pb2.Solution:
        chosen = [c.offer for c in components if c.status == Status.COMPONENT_STATUS_OK]
        totals = totals_by_currency(
            (o.price.total.currency_code, from_money(o.price.total)) for o in chosen
        )
        now = timestamp_pb2.Timestamp()
        now.FromDatetime(datetime.now(UTC))
        solution = solution_pb2.Solution(
            solution_id=f"sol_{uuid.uuid4().hex}",
            recipe=recipe.ref,
            entry=entry,
            trip=trip_message(trip),
            components=components,
            totals=totals,
            create_time=now,
        )
        if chosen:
            earliest = min(chosen, key=lambda o: o.expire_time.ToNanoseconds())
            solution.expire_time.CopyFrom(earliest.expire_time)
        solution.fingerprint = fingerprint(solution)
        return solution
