"""Composing a solution: the recipe's components, each from a concurrent partner fan-out,
planned around what the customer already holds and around each other.

Components that read another's chosen offer (`$component.flight.arrival_date`) are quoted at
once on the trip's booked dates (provisional facts), concurrently with the flight; when the
flight is chosen, each dependent is re-asked only if the real facts change its parameters. So
composition stays close to the slowest partner unless the flight really moves a date.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import timestamp_pb2

from adapters import HeldBooking, PartnerAdapter, QuoteRequest
from bundles import ComponentSpec, Facts, FactsError, Recipe, Trip
from bundles.facts import offer_facts, provisional_facts
from gateway.composition.choice import apply_rules, chosen_because, unavailable_because
from gateway.composition.fanout import PartnerAnswer, ask_partners
from gateway.composition.fingerprint import fingerprint
from gateway.composition.render import (
    held_message,
    offer_message,
    totals_text,
    traveller_notes,
    trip_message,
)
from gateway.composition.selection import order_offers
from gateway.i18n import Texts
from gateway.money import from_money, totals_by_currency
from gateway.partners import PartnerDirectory
from gateway.telemetry import PartnerCallObserver
from partnergateway.v1 import solution_pb2

Status = solution_pb2.ComponentStatus
log = logging.getLogger(__name__)

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


@dataclass
class CompositionReport:
    """What a composition did beyond its result: which dependents were re-asked."""

    reasked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Settled:
    component: solution_pb2.Component
    facts: Facts | None  # of the chosen or held offer; None when there is neither


@dataclass
class _Run:
    """One composition's shared state."""

    recipe: Recipe
    trip: Trip
    deadline: float
    may_ask: MayAsk
    asked: list[QuoteDisclosure]
    held: Mapping[str, HeldBooking]
    texts: Texts
    now: datetime
    report: CompositionReport
    settled: dict[str, asyncio.Future[_Settled]]


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
        texts: Texts,
        *,
        may_ask: MayAsk = _ask_everyone,
        asked: list[QuoteDisclosure] | None = None,
        held: Mapping[str, HeldBooking] | None = None,
        report: CompositionReport | None = None,
        now: datetime | None = None,
    ) -> AsyncIterator[solution_pb2.Component | solution_pb2.Solution]:
        """Yields each component as soon as it is settled, then the complete solution.

        Components are asked for concurrently; the solution lists them in recipe order. Only
        partners `may_ask` allows are asked; a component none of whose partners may be asked
        is CONSENT_REQUIRED. `held` maps component kinds to the verified products the
        customer holds: those are HELD, never quoted. Every quote request sent is appended to
        `asked`; text for people is in `texts`' language.
        """
        loop = asyncio.get_running_loop()
        run = _Run(
            recipe=recipe,
            trip=trip,
            deadline=deadline,
            may_ask=may_ask,
            asked=asked if asked is not None else [],
            held=held or {},
            texts=texts,
            now=now or datetime.now(UTC),
            report=report or CompositionReport(),
            settled={c.kind: loop.create_future() for c in recipe.components},
        )
        tasks = [
            asyncio.create_task(self._indexed(index, spec, run))
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
            for future in run.settled.values():
                future.cancel()
        yield self._solution(run, entry, [settled[i] for i in range(len(tasks))])

    async def _indexed(
        self, index: int, spec: ComponentSpec, run: _Run
    ) -> tuple[int, solution_pb2.Component]:
        settled = await self._component(spec, run)
        future = run.settled[spec.kind]
        if not future.done():
            future.set_result(settled)
        component = settled.component
        component.title = run.texts.text(
            f"recipe.{run.recipe.name}.{spec.kind}", default=spec.title
        )
        component.depends_on.extend(spec.depends_on)
        return index, component

    async def _component(self, spec: ComponentSpec, run: _Run) -> _Settled:
        texts = run.texts
        booking = run.held.get(spec.kind)
        if booking is not None:
            return self._held(spec, booking, run)
        not_applicable = spec.not_applicable(run.trip)
        if not_applicable is not None:
            bound = next((c.at_least for c in spec.conditions if c.reason == not_applicable), None)
            return _unsettled(
                spec.kind,
                Status.COMPONENT_STATUS_NOT_APPLICABLE,
                not_applicable,
                texts.text(f"reason.{not_applicable}", at_least=bound),
            )
        adapters = self._directory.of_kind(spec.partner_kind)
        if not adapters:
            return _unsettled(
                spec.kind,
                Status.COMPONENT_STATUS_UNAVAILABLE,
                "no_partner_configured",
                texts.text("reason.no_partner_configured"),
            )
        allowed = [a for a in adapters if run.may_ask(a.partner_id, a.kind)]
        not_covered = [
            PartnerAnswer(a.partner_id, CONSENT_REQUIRED, detail="not covered by the consent")
            for a in adapters
            if a not in allowed
        ]
        if not allowed:
            partners = texts.text(f"partner_kind.{spec.partner_kind}", default=spec.partner_kind)
            return _unsettled(
                spec.kind,
                Status.COMPONENT_STATUS_CONSENT_REQUIRED,
                CONSENT_REQUIRED,
                texts.text("reason.consent_required", partners=partners),
                _outcomes(not_covered),
            )
        return await self._answered(spec, allowed, not_covered, run)

    async def _answered(
        self,
        spec: ComponentSpec,
        allowed: list[PartnerAdapter],
        not_covered: list[PartnerAnswer],
        run: _Run,
    ) -> _Settled:
        """Settled on the partners' answers on the facts of the components `spec` depends
        on: asked on provisional facts at once, re-asked only if the settled facts change the
        request. The provisional answers are settled (chosen, rendered) as soon as they come,
        so when the dependency confirms them nothing is left to do after it."""
        if not spec.depends_on:
            return await self._quoted(spec, allowed, spec.derive(run.trip), not_covered, run)
        futures = {kind: run.settled[kind] for kind in spec.depends_on}
        first_params = None
        first: asyncio.Task[_Settled] | None = None
        if not all(f.done() for f in futures.values()):
            first_params = spec.derive(run.trip, self._facts(spec, run, {}))
            first = asyncio.create_task(self._quoted(spec, allowed, first_params, not_covered, run))
        try:
            dependencies = {kind: await future for kind, future in futures.items()}
            missing = [k for k in spec.requires if dependencies[k].facts is None]
            if missing:
                dependency = dependencies[missing[0]].component
                title = run.texts.text(
                    f"recipe.{run.recipe.name}.{dependency.kind}", default=dependency.kind
                )
                return _unsettled(
                    spec.kind,
                    Status.COMPONENT_STATUS_UNAVAILABLE,
                    "depends_on_unavailable",
                    run.texts.text("reason.depends_on_unavailable", dependency=title),
                )
            params = spec.derive(run.trip, self._facts(spec, run, dependencies))
            if first is not None and params == first_params:
                settled = await first
                first = None
                return settled
            if first is not None:
                run.report.reasked.append(spec.kind)
            return await self._quoted(spec, allowed, params, not_covered, run)
        finally:
            if first is not None:
                first.cancel()

    async def _quoted(
        self,
        spec: ComponentSpec,
        allowed: list[PartnerAdapter],
        params: dict[str, Any],
        not_covered: list[PartnerAnswer],
        run: _Run,
    ) -> _Settled:
        answers = await self._ask(spec, allowed, params, run)
        return self._settle(spec, run, [*answers, *not_covered])

    def _facts(
        self, spec: ComponentSpec, run: _Run, settled: Mapping[str, _Settled]
    ) -> dict[str, Facts]:
        """Each dependency's facts: of its chosen or held offer when known, else provisional."""
        facts: dict[str, Facts] = {}
        for kind in spec.depends_on:
            dependency = run.recipe.component(kind)
            assert dependency is not None  # checked when the recipe was loaded
            known = settled[kind].facts if kind in settled else None
            if known is None and kind in run.held:
                known = self._held_facts(dependency, run.held[kind])
            facts[kind] = known or provisional_facts(dependency.partner_kind, run.trip)
        return facts

    async def _ask(
        self,
        spec: ComponentSpec,
        allowed: list[PartnerAdapter],
        params: dict[str, Any],
        run: _Run,
    ) -> list[PartnerAnswer]:
        request = QuoteRequest(component=spec.kind, params=params)
        run.asked.extend(QuoteDisclosure(a.partner_id, spec.kind, params) for a in allowed)
        return await ask_partners(allowed, request, run.deadline, self._observer)

    def _held(self, spec: ComponentSpec, booking: HeldBooking, run: _Run) -> _Settled:
        name = self._directory.name(booking.partner_id)
        component = solution_pb2.Component(
            kind=spec.kind,
            status=Status.COMPONENT_STATUS_HELD,
            reason_code="held_by_customer",
            reason=run.texts.text(
                "reason.held_by_customer", partner=name, reference=booking.reference
            ),
            held=held_message(booking, name),
            partners=[solution_pb2.PartnerOutcome(partner_id=booking.partner_id, outcome="held")],
        )
        return _Settled(component, self._held_facts(spec, booking))

    @staticmethod
    def _held_facts(spec: ComponentSpec, booking: HeldBooking) -> Facts | None:
        try:
            return offer_facts(spec.partner_kind, booking.attributes)
        except FactsError as exc:
            log.warning("held %s %s: %s", spec.kind, booking.reference, exc)
            return None

    def _settle(self, spec: ComponentSpec, run: _Run, answers: list[PartnerAnswer]) -> _Settled:
        texts = run.texts
        offers = [o for a in answers for o in a.offers]
        filtered = apply_rules(offers, spec, run.trip, run.now)
        ranked = order_offers(filtered.kept, run.recipe.selection)
        outcomes = _outcomes(answers, {(o.partner_id, o.offer_id) for o in filtered.kept})
        if not ranked:
            code = unavailable_because(answers, filtered)
            return _unsettled(
                spec.kind,
                Status.COMPONENT_STATUS_UNAVAILABLE,
                code,
                texts.text(
                    f"reason.{code}", default=texts.text("reason.unfit"), **_reason_fields(run)
                ),
                outcomes,
            )
        discarded = sum(filtered.discarded_by.values())
        code = chosen_because(ranked, discarded)
        reason = texts.text(f"reason.{code}", count=len(ranked) + discarded)
        best = ranked[0]
        if best.not_covered:
            reason = texts.text(
                "reason.partial_cover",
                reason=reason,
                count=len(best.not_covered),
                travellers=len(run.trip.travellers),
            )
        messages = [offer_message(o, self._directory.name(o.partner_id), texts) for o in ranked]
        component = solution_pb2.Component(
            kind=spec.kind,
            status=Status.COMPONENT_STATUS_OK,
            offer=messages[0],
            alternatives=messages[1:],
            partners=outcomes,
            reason_code=code,
            reason=reason,
            uncovered_travellers=traveller_notes(best.not_covered, texts),
        )
        try:
            facts = offer_facts(spec.partner_kind, best.attributes)
        except FactsError as exc:
            # Dependents fall back to the trip's dates rather than fail the whole plan.
            log.warning("offer %s of %s: %s", best.offer_id, best.partner_id, exc)
            facts = None
        return _Settled(component, facts)

    @staticmethod
    def _solution(
        run: _Run, entry: solution_pb2.EntrySummary, components: list[solution_pb2.Component]
    ) -> solution_pb2.Solution:
        chosen = [c.offer for c in components if c.status == Status.COMPONENT_STATUS_OK]
        totals = totals_by_currency(
            (o.price.total.currency_code, from_money(o.price.total)) for o in chosen
        )
        now = timestamp_pb2.Timestamp()
        now.FromDatetime(datetime.now(UTC))
        solution = solution_pb2.Solution(
            solution_id=f"sol_{uuid.uuid4().hex}",
            recipe=run.recipe.ref,
            entry=entry,
            trip=trip_message(run.trip),
            components=components,
            totals=totals,
            totals_text=totals_text(totals, run.texts),
            create_time=now,
            language_code=run.texts.language.value,
        )
        if chosen:
            earliest = min(chosen, key=lambda o: o.expire_time.ToNanoseconds())
            solution.expire_time.CopyFrom(earliest.expire_time)
        solution.fingerprint = fingerprint(solution)
        return solution


def _reason_fields(run: _Run) -> dict[str, Any]:
    return {"travellers": len(run.trip.travellers)}


def _unsettled(
    kind: str,
    status: solution_pb2.ComponentStatus.ValueType,
    code: str,
    reason: str,
    partners: list[solution_pb2.PartnerOutcome] | None = None,
) -> _Settled:
    component = solution_pb2.Component(
        kind=kind, status=status, reason_code=code, reason=reason, partners=partners or []
    )
    return _Settled(component, None)


def _outcomes(
    answers: list[PartnerAnswer], kept: set[tuple[str, str]] | None = None
) -> list[solution_pb2.PartnerOutcome]:
    """Per partner, what it answered; a partner whose every offer a recipe rule discarded is
    `unfit`."""
    outcomes = []
    for a in sorted(answers, key=lambda a: a.partner_id):
        outcome = a.outcome
        if (
            kept is not None
            and a.offers
            and not any((o.partner_id, o.offer_id) in kept for o in a.offers)
        ):
            outcome = "unfit"
        outcomes.append(
            solution_pb2.PartnerOutcome(
                partner_id=a.partner_id,
                outcome=outcome,
                offer_count=len(a.offers),
                detail=a.detail,
            )
        )
    return outcomes
