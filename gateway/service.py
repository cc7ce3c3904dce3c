"""The SolutionService RPCs: validate, normalize, compose (or replay), store."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime

import grpc

from bundles import Recipe, recipe_for_entry
from gateway.auth import caller_partner_id
from gateway.composition import Composer
from gateway.errors import (
    DeadlineTooShortError,
    NoRecipeError,
    NotFoundError,
    RequestIdReusedError,
)
from gateway.normalize import ComposeRequest, NormalizedRequest, normalize
from gateway.partners import PartnerDirectory
from gateway.settings import CompositionSettings
from gateway.storage import SolutionStore
from gateway.telemetry import PartnerCallObserver, Telemetry
from partnergateway.v1 import solution_pb2, solution_service_pb2, solution_service_pb2_grpc

Update = solution_pb2.Component | solution_pb2.Solution
log = logging.getLogger(__name__)


def _utc_today() -> date:
    return datetime.now(UTC).date()


class SolutionService(solution_service_pb2_grpc.SolutionServiceServicer):
    def __init__(
        self,
        directory: PartnerDirectory,
        store: SolutionStore,
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
        if body is None:
            raise NotFoundError(f"solution {request.solution_id!r} not found")
        return solution_service_pb2.GetSolutionResponse(
            solution=solution_pb2.Solution.FromString(body)
        )

    # -- composition ----------------------------------------------------------------------

    async def _updates(
        self, request: ComposeRequest, time_remaining: float | None
    ) -> AsyncIterator[Update]:
        caller = caller_partner_id(request.entry.partner_id)
        if caller != request.entry.partner_id:  # assigning would mark a missing entry present
            request.entry.partner_id = caller
        normalized = normalize(request, self._directory.kinds, self._today())
        recipe = recipe_for_entry(self._recipes, normalized.entry_kind)
        if recipe is None:
            raise NoRecipeError(f"no recipe is triggered by a {normalized.entry_kind} event")
        deadline = self._deadline(time_remaining)
        if not normalized.request_id:
            async for update in self._compose(recipe, normalized, deadline, None):
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
            async for update in self._compose(recipe, normalized, deadline, request_hash):
                if isinstance(update, solution_pb2.Solution):
                    first.set_result(None)
                yield update
        finally:
            self._inflight.pop(key, None)
            if not first.done():
                first.cancel()

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
        return solution_pb2.Solution.FromString(body) if body else None

    async def _compose(
        self,
        recipe: Recipe,
        normalized: NormalizedRequest,
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
        with self._tracer.start_as_current_span("compose", attributes=attributes):
            async for update in self._compose_traced(
                recipe, normalized, entry, deadline, request_hash
            ):
                yield update

    async def _compose_traced(
        self,
        recipe: Recipe,
        normalized: NormalizedRequest,
        entry: solution_pb2.EntrySummary,
        deadline: float,
        request_hash: str | None,
    ) -> AsyncIterator[Update]:
        async for update in self._composer.compose(recipe, normalized.trip, entry, deadline):
            if isinstance(update, solution_pb2.Solution):
                request = (normalized.request_id, request_hash) if request_hash else None
                earlier = await self._store.save_solution(
                    update.solution_id,
                    normalized.entry_partner_id,
                    update.fingerprint,
                    update.SerializeToString(),
                    request,
                    recipe=update.recipe,
                )
                if earlier is not None:  # another replica answered this request id first
                    body = await self._store.load_solution(earlier.solution_id)
                    update = solution_pb2.Solution.FromString(body or b"")
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


def _content_hash(request: ComposeRequest) -> str:
    """Hash of everything but the request id; Compose and Stream requests share a layout."""
    canonical = solution_service_pb2.ComposeSolutionRequest.FromString(request.SerializeToString())
    canonical.ClearField("request_id")
    return hashlib.sha256(canonical.SerializeToString(deterministic=True)).hexdigest()


def _replay(solution: solution_pb2.Solution) -> list[Update]:
    return [*solution.components, solution]
