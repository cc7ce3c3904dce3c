"""The SolutionService RPCs: validate, normalize, compose (or replay), store."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Protocol

import grpc

from bundles import Recipe, recipe_for_entry
from gateway.access import not_found
from gateway.callers import caller_partner_id, caller_session, current_caller, session_sees
from gateway.composition.composer import Composer, CompositionReport, QuoteDisclosure
from gateway.composition.held import HeldReference, retrieve_held, trip_around
from gateway.errors import (
    DeadlineTooShortError,
    GatewayError,
    InvalidRequestError,
    NoRecipeError,
    RequestIdReusedError,
)
from gateway.i18n import localized, negotiate, texts
from gateway.model import AuditRecord, ConsentRecord
from gateway.normalize import ComposeRequest, NormalizedRequest, normalize
from gateway.partners import PartnerDirectory
from gateway.privacy import consent_record, consent_violations, disclosure_record
from gateway.settings import CompositionSettings
from gateway.storage import AuditStore, ConsentStore, SolutionStore
from gateway.telemetry import PartnerCallObserver, Telemetry
from gateway.validation import Violations
from partnergateway.v1 import solution_pb2, solution_service_pb2, solution_service_pb2_grpc

Update = solution_pb2.Component | solution_pb2.Solution
log = logging.getLogger(__name__)

COMPOSE = "rpc:SolutionService/ComposeSolution"
GET_SOLUTION = "rpc:SolutionService/GetSolution"


class ComposeStore(SolutionStore, ConsentStore, AuditStore, Protocol):
    """What composing needs kept: solutions, the consents they were made under, the audit."""


def _never(partner_id: str, partner_kind: str) -> bool:
    return False


def _utc_today() -> date:
    return datetime.now(UTC).date()


class SolutionService(solution_service_pb2_grpc.SolutionServiceServicer):
    def __init__(
        self,
        directory: PartnerDirectory,
        store: ComposeStore,
        recipes: Mapping[str, Recipe],
        settings: CompositionSettings,
        telemetry: Telemetry | None = None,
        today: Callable[[], date] = _utc_today,
    ) -> None:
        self._directory = directory
        self._store = store
        self._recipes = dict(recipes)
        self._settings = settings
        self._today = today
        telemetry = telemetry or Telemetry()
        self._metrics = telemetry.metrics
        self._tracer = telemetry.tracer("gateway.composition")
        self._composer = Composer(directory, PartnerCallObserver(telemetry, self._metrics))
        # First composition of each (owner, request_id) still running: replays wait for it
        # instead of starting a second fan-out (AIP-155).
        self._inflight: dict[tuple[str, str], asyncio.Future[None]] = {}

    async def ComposeSolution(
        self,
        request: solution_service_pb2.ComposeSolutionRequest,
        context: grpc.aio.ServicerContext[
            solution_service_pb2.ComposeSolutionRequest,
            solution_service_pb2.ComposeSolutionResponse,
        ],
    ) -> solution_service_pb2.ComposeSolutionResponse:
        solution = None
        async for update in self._updates(request, context.time_remaining()):
            if isinstance(update, solution_pb2.Solution):
                solution = update
        return solution_service_pb2.ComposeSolutionResponse(solution=solution)

    async def StreamSolution(
        self,
        request: solution_service_pb2.StreamSolutionRequest,
        context: grpc.aio.ServicerContext[
            solution_service_pb2.StreamSolutionRequest,
            solution_service_pb2.StreamSolutionResponse,
        ],
    ) -> AsyncIterator[solution_service_pb2.StreamSolutionResponse]:
        async for update in self._updates(request, context.time_remaining()):
            if isinstance(update, solution_pb2.Solution):
                yield solution_service_pb2.StreamSolutionResponse(solution=update)
            else:
                yield solution_service_pb2.StreamSolutionResponse(component=update)

    async def GetSolution(
        self,
        request: solution_service_pb2.GetSolutionRequest,
        context: grpc.aio.ServicerContext[
            solution_service_pb2.GetSolutionRequest, solution_service_pb2.GetSolutionResponse
        ],
    ) -> solution_service_pb2.GetSolutionResponse:
        body = await self._store.load_solution(request.solution_id) if request.solution_id else None
        solution = solution_pb2.Solution.FromString(body) if body else None
        caller = current_caller()
        if (
            solution is None
            or (caller and solution.entry.partner_id != caller.partner_id)
            or not session_sees(solution)  # a customer-session token: its own session's only
        ):
            await not_found(
                self._store,
                GET_SOLUTION,
                "solution",
                request.solution_id,
                exists=solution is not None,
            )
        return solution_service_pb2.GetSolutionResponse(solution=solution)

    # -- composition ----------------------------------------------------------------------

    async def _updates(
        self, request: ComposeRequest, time_remaining: float | None
    ) -> AsyncIterator[Update]:
        try:
            async for update in self._updates_of(request, time_remaining):
                yield update
        except GatewayError as exc:
            exc.localized = localized(exc, texts(negotiate(request.language_code)))
            raise

    async def _updates_of(
        self, request: ComposeRequest, time_remaining: float | None
    ) -> AsyncIterator[Update]:
        caller = caller_partner_id(request.entry.partner_id)
        if caller != request.entry.partner_id:  # assigning would mark a missing entry present
            request.entry.partner_id = caller
        normalized, recipe = self._checked(request)
        deadline = self._deadline(time_remaining)
        if not normalized.request_id:
            async for update in self._compose(recipe, normalized, request, deadline, None):
                yield update
            return

        key = (normalized.entry_partner_id, normalized.request_id)
        request_hash = _content_hash(request)
        while (running := self._inflight.get(key)) is not None:
            # A replay while the first is still composing waits for it (AIP-155); if the
            # first fails, the next in line composes afresh.
            try:
                await asyncio.shield(running)
            except asyncio.CancelledError:
                if not running.cancelled():
                    raise
        # Registered before the first await below, so concurrent replays always find it.
        first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = first
        try:
            earlier = await self._earlier(key, request_hash)
            if earlier is not None:
                for update in _replay(earlier):
                    yield update
                first.set_result(None)
                return
            async for update in self._compose(recipe, normalized, request, deadline, request_hash):
                if isinstance(update, solution_pb2.Solution):
                    first.set_result(None)
                yield update
        finally:
            self._inflight.pop(key, None)
            if not first.done():
                first.cancel()

    def _checked(self, request: ComposeRequest) -> tuple[NormalizedRequest, Recipe]:
        """The normalized request and its recipe; every problem, consent's included, at once."""
        v = Violations()
        normalized = recipe = None
        try:
            normalized = normalize(request, self._directory.kinds, self._today())
        except InvalidRequestError as exc:
            v.items.extend(exc.violations)
        if normalized is not None:
            recipe = recipe_for_entry(self._recipes, normalized.entry_kind)
            if recipe is None:
                raise NoRecipeError(f"no recipe is triggered by a {normalized.entry_kind} event")
        if request.HasField("consent"):
            consent_violations(
                v,
                "consent",
                request.consent,
                recipe.name if recipe else None,
                self._directory.kinds,
                datetime.now(UTC),
            )
        if v or normalized is None or recipe is None:
            raise InvalidRequestError(v.items)
        return normalized, recipe

    async def _earlier(
        self, key: tuple[str, str], request_hash: str
    ) -> solution_pb2.Solution | None:
        """The solution stored for this request id, if any; other content is an error."""
        stored = await self._store.find_request(*key)
        if stored is None:
            return None
        if stored.request_hash != request_hash:
            raise RequestIdReusedError(f"request_id {key[1]!r} was used before with other content")
        body = await self._store.load_solution(stored.solution_id)
        earlier = solution_pb2.Solution.FromString(body) if body else None
        if earlier is not None and not session_sees(earlier):
            # Another customer session of the same partner used this id: say no more.
            raise RequestIdReusedError(f"request_id {key[1]!r} was used before with other content")
        return earlier

    async def _compose(
        self,
        recipe: Recipe,
        normalized: NormalizedRequest,
        request: ComposeRequest,
        deadline: float,
        request_hash: str | None,
    ) -> AsyncIterator[Update]:
        entry = solution_pb2.EntrySummary(
            partner_id=normalized.entry_partner_id, kind=normalized.entry_kind
        )
        attributes = {
            "recipe": recipe.ref,
            "entry.partner": entry.partner_id,
            "entry.kind": entry.kind,
        }
        with self._tracer.start_as_current_span("compose", attributes=attributes) as span:
            consent = await self._record_consent(request, normalized.entry_partner_id)
            report = CompositionReport()
            async for update in self._compose_traced(
                recipe, normalized, entry, deadline, request_hash, consent, request, report
            ):
                yield update
            span.set_attribute("compose.reasked", ",".join(report.reasked))

    async def _record_consent(self, request: ComposeRequest, owner: str) -> ConsentRecord | None:
        """Records the request's consent before any partner is asked under it."""
        if not request.HasField("consent"):
            return None
        consent = consent_record(request.consent, owner, datetime.now(UTC))
        await self._store.save_consent(
            consent,
            audit=[
                AuditRecord(
                    actor=owner,
                    action=COMPOSE,
                    subject=consent.consent_id,
                    outcome="consent_recorded",
                    purpose=consent.purpose,
                    consent_id=consent.consent_id,
                )
            ],
        )
        return consent

    async def _compose_traced(
        self,
        recipe: Recipe,
        normalized: NormalizedRequest,
        entry: solution_pb2.EntrySummary,
        deadline: float,
        request_hash: str | None,
        consent: ConsentRecord | None,
        request: ComposeRequest,
        report: CompositionReport,
    ) -> AsyncIterator[Update]:
        asked: list[QuoteDisclosure] = []
        may_ask = consent.covers if consent else _never
        held = await retrieve_held(
            normalized.held, self._directory, recipe, normalized.trip, deadline, may_ask
        )
        async for update in self._composer.compose(
            recipe,
            trip_around(normalized.trip, held, recipe),
            entry,
            deadline,
            texts(negotiate(request.language_code)),
            may_ask=may_ask,
            asked=asked,
            held=held,
            report=report,
        ):
            if isinstance(update, solution_pb2.Solution):
                update.consent_id = consent.consent_id if consent else ""
                # Not in the fingerprint (computed before): who asked does not change the plan.
                update.customer_session = caller_session()
                keyed = (normalized.request_id, request_hash) if request_hash else None
                earlier = await self._store.save_solution(
                    update.solution_id,
                    normalized.entry_partner_id,
                    update.fingerprint,
                    update.SerializeToString(),
                    keyed,
                    recipe=update.recipe,
                    audit=_compose_audit(
                        update, normalized.entry_partner_id, consent, asked, normalized.held
                    ),
                )
                if earlier is not None:  # another replica answered this request id first
                    body = await self._store.load_solution(earlier.solution_id)
                    update = solution_pb2.Solution.FromString(body or b"")
                    if not session_sees(update):
                        raise RequestIdReusedError(
                            f"request_id {normalized.request_id!r} was used before"
                        )
                else:
                    self._metrics.solutions_composed.add(
                        1, {"recipe": recipe.name, "entry.partner": entry.partner_id}
                    )
                    ok = sum(
                        c.status == solution_pb2.COMPONENT_STATUS_OK for c in update.components
                    )
                    # Ids and counts only: never a traveller's name, birth date or number.
                    log.info(
                        "composed %s (%s) for %s: %d of %d components ok",
                        update.solution_id,
                        recipe.ref,
                        entry.partner_id,
                        ok,
                        len(update.components),
                    )
            yield update

    def _deadline(self, time_remaining: float | None) -> float:
        """The partners' deadline (monotonic): the caller's, capped, minus time to answer."""
        s = self._settings
        budget = (
            min(
                time_remaining if time_remaining is not None else s.default_deadline_s,
                s.max_deadline_s,
            )
            - s.compose_reserve_s
        )
        if budget <= 0:
            raise DeadlineTooShortError("the call's deadline leaves no time to ask partners")
        return time.monotonic() + budget


def _compose_audit(
    solution: solution_pb2.Solution,
    owner: str,
    consent: ConsentRecord | None,
    asked: list[QuoteDisclosure],
    held: tuple[HeldReference, ...],
) -> list[AuditRecord]:
    """The composition, every held product it asked a partner about and every quote request
    it sent, stored with the solution."""
    retrieved = [
        disclosure_record(
            actor=owner,
            action="partner:retrieve",
            subject=solution.solution_id,
            recipient=ref.partner_id,
            consent=consent,
            values={"reference": ref.reference},
            field_names=[ref.field],
            outcome="sent",
        )
        for ref in held
    ]
    quotes = [
        disclosure_record(
            actor=owner,
            action="partner:quote",
            subject=solution.solution_id,
            recipient=q.partner_id,
            consent=consent,
            values=dict(q.params),
            field_names=[f"{q.component}.{name}" for name in sorted(q.params)],
            outcome="sent",
        )
        for q in sorted(asked, key=lambda q: (q.component, q.partner_id))
    ]
    composed = AuditRecord(
        actor=owner,
        action=COMPOSE,
        subject=solution.solution_id,
        outcome="ok",
        purpose=consent.purpose if consent else "",
        consent_id=consent.consent_id if consent else "",
    )
    return [*retrieved, *quotes, composed]


def _content_hash(request: ComposeRequest) -> str:
    """Hash of everything but the request id; Compose and Stream requests share a layout."""
    canonical = solution_service_pb2.ComposeSolutionRequest.FromString(request.SerializeToString())
    canonical.ClearField("request_id")
    return hashlib.sha256(canonical.SerializeToString(deterministic=True)).hexdigest()


def _replay(solution: solution_pb2.Solution) -> list[Update]:
    return [*solution.components, solution]
