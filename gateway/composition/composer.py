"""Composing a solution: the recipe's components, each from a concurrent partner fan-out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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

MayAsk = Callable[[str, str], bool]
"""(partner id, partner kind) → whether the customer's consent lets the gateway ask it."""

CONSENT_REQUIRED = "consent_required"


def _ask_everyone(partner_id: str, partner_kind: str) -> bool:
    return True


@dataclass(frozen=True)
class QuoteDisclosure:
    """What one quote request sent to one partner (for the audit log)."""

    partner_id: str
    component: str
    params: Mapping[str, Any]


class Composer:
    """Turns a trip and a recipe into a solution by asking the partners of every component."""

    def __init__(self, directory: PartnerDirectory, observer: PartnerCallObserver) -> None:
        self._directory = directory
        self._observer = observer

    async def compose(
        self,
        recipe: Recipe,
        trip: Trip,
        entry: solution_pb2.EntrySummary,
        deadline: float,
        *,
        may_ask: MayAsk = _ask_everyone,
        asked: list[QuoteDisclosure] | None = None,
    ) -> AsyncIterator[solution_pb2.Component | solution_pb2.Solution]:
        """Yields each component as soon as it is settled, then the complete solution.

        Components are asked for concurrently; the solution lists them in recipe order. Only
        partners `may_ask` allows are asked; a component none of whose partners may be asked
        is CONSENT_REQUIRED. Every quote request sent is appended to `asked`.
        """
        ask = _Asking(may_ask, asked if asked is not None else [])
        tasks = [
            asyncio.create_task(self._indexed(index, spec, trip, recipe, deadline, ask))
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
        self,
        index: int,
        spec: ComponentSpec,
        trip: Trip,
        recipe: Recipe,
        deadline: float,
        ask: _Asking,
    ) -> tuple[int, solution_pb2.Component]:
        return index, await self._component(spec, trip, recipe, deadline, ask)

    async def _component(
        self, spec: ComponentSpec, trip: Trip, recipe: Recipe, deadline: float, ask: _Asking
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
        allowed = [a for a in adapters if ask.may_ask(a.partner_id, a.kind)]
        not_covered = [
            PartnerAnswer(a.partner_id, CONSENT_REQUIRED, detail="not covered by the consent")
            for a in adapters
            if a not in allowed
        ]
        if not allowed:
            return solution_pb2.Component(
                kind=spec.kind,
                status=Status.COMPONENT_STATUS_CONSENT_REQUIRED,
                reason=f"the customer's consent covers no {spec.partner_kind} partner",
                partners=_outcomes(not_covered),
            )
        request = QuoteRequest(component=spec.kind, params=spec.derive(trip))
        ask.asked.extend(QuoteDisclosure(a.partner_id, spec.kind, request.params) for a in allowed)
        answers = await ask_partners(allowed, request, deadline, self._observer)
        return self._settle(spec, recipe, [*answers, *not_covered])

    def _settle(
        self, spec: ComponentSpec, recipe: Recipe, answers: list[PartnerAnswer]
    ) -> solution_pb2.Component:
        outcomes = _outcomes(answers)
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


@dataclass(frozen=True)
class _Asking:
    may_ask: MayAsk
    asked: list[QuoteDisclosure]


def _outcomes(answers: list[PartnerAnswer]) -> list[solution_pb2.PartnerOutcome]:
    return [
        solution_pb2.PartnerOutcome(
            partner_id=a.partner_id, outcome=a.outcome, offer_count=len(a.offers), detail=a.detail
        )
        for a in sorted(answers, key=lambda a: a.partner_id)
    ]
