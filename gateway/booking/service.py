"""The OrderService RPCs. Booking runs as a background saga; RPCs read the store."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import grpc

from gateway.access import NotOwnerError, not_found
from gateway.booking.notifier import OrderNotifier
from gateway.booking.render import event_message, order_message
from gateway.booking.saga import CANCEL_REQUESTED, BookingStore, SagaRunner
from gateway.callers import caller_partner_id, session_sees, session_sees_order
from gateway.errors import (
    FieldViolation,
    GatewayError,
    InvalidRequestError,
    RequestIdReusedError,
)
from gateway.model import (
    FINAL_STATES,
    AuditRecord,
    ComponentRecord,
    ComponentState,
    ConsentRecord,
    NewEvent,
    OrderEvent,
    OrderRecord,
    OrderState,
)
from gateway.money import from_money, to_money
from gateway.privacy import (
    Disclosure,
    booking_violations,
    disclosure_for,
    disclosure_record,
)
from gateway.validation import Violations
from partnergateway.v1 import order_pb2, order_service_pb2, order_service_pb2_grpc, solution_pb2

log = logging.getLogger(__name__)

Ctx = grpc.aio.ServicerContext[Any, Any]
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
WATCH_POLL_S = 0.5
ANSWER_RESERVE_S = 0.2


_SERVICE = "rpc:OrderService/"
BOOK, GET, CANCEL, WATCH = (
    f"{_SERVICE}{m}" for m in ("BookSolution", "GetOrder", "CancelOrder", "WatchOrder")
)


class OrderNotCancellableError(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "ORDER_NOT_CANCELLABLE"


class ConsentMissingError(GatewayError):
    """The solution's consent does not (or no longer) let the gateway send data."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "CONSENT_REQUIRED"


class OrderService(order_service_pb2_grpc.OrderServiceServicer):
    def __init__(
        self,
        store: BookingStore,
        runner: SagaRunner,
        notifier: OrderNotifier,
        partner_kinds: Mapping[str, str],
    ) -> None:
        self._store = store
        self._runner = runner
        self._notifier = notifier
        self._partner_kinds = dict(partner_kinds)
        self._sagas: dict[str, asyncio.Task[object]] = {}

    # -- sagas in the background --------------------------------------------------------------

    def start_saga(self, order_id: str) -> asyncio.Task[object]:
        """Runs (or joins) the saga of an order; it outlives the RPC that started it."""
        task = self._sagas.get(order_id)
        if task is None or task.done():
            task = asyncio.create_task(self._runner.run(order_id), name=f"saga {order_id}")
            self._sagas[order_id] = task
            task.add_done_callback(lambda t: self._finished(order_id, t))
        return task

    def _finished(self, order_id: str, task: asyncio.Task[object]) -> None:
        if self._sagas.get(order_id) is task:
            del self._sagas[order_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("saga of order %s failed", order_id, exc_info=task.exception())

    async def aclose(self) -> None:
        """Stops local sagas; their leases expire and recovery resumes them."""
        tasks = list(self._sagas.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- RPCs -----------------------------------------------------------------------------------

    async def BookSolution(
        self, request: order_service_pb2.BookSolutionRequest, context: Ctx
    ) -> order_service_pb2.BookSolutionResponse:
        request.partner_id = caller_partner_id(request.partner_id)
        v = Violations()
        v.request_id("request_id", request.request_id)
        if not request.request_id:
            v.add("request_id", "is required: it makes a retried booking safe")
        if not request.solution_id:
            v.add("solution_id", "is required")
        v.partner_id("partner_id", request.partner_id)
        if v:
            raise InvalidRequestError(v.items)
        body = await self._store.load_solution(request.solution_id)
        solution = solution_pb2.Solution.FromString(body) if body else None
        if (
            solution is None
            or solution.entry.partner_id != request.partner_id
            or not session_sees(solution)  # a customer-session token: its own session's only
        ):
            await not_found(
                self._store, BOOK, "solution", request.solution_id, exists=solution is not None
            )
        earlier = await self._store.find_order_request(request.partner_id, request.request_id)
        if earlier is not None:  # a replay: the first order, whatever happened since
            if earlier.request_hash != _hash(request):
                raise _reused(request.request_id)
            order_id = earlier.order_id
        else:
            order_id = await self._place(request, solution)
        saga = self.start_saga(order_id)
        remaining = context.time_remaining()
        wait_s = None if remaining is None else max(0.0, remaining - ANSWER_RESERVE_S)
        # Answer with the final order if it comes in time, else with the order as it stands.
        await asyncio.wait({saga}, timeout=wait_s)
        current = await self._store.get_order(order_id)
        assert current is not None
        return order_service_pb2.BookSolutionResponse(order=order_message(current))

    async def _place(
        self, request: order_service_pb2.BookSolutionRequest, solution: solution_pb2.Solution
    ) -> str:
        """Stores the new order (with the personal data its holds will send, minimised per
        partner) and its audit record in one transaction; returns its id."""
        consent = (
            await self._store.get_consent(solution.consent_id) if solution.consent_id else None
        )
        if consent is None:
            raise ConsentMissingError(
                "the solution was composed without the customer's consent: compose it again "
                "with one"
            )
        if consent.withdrawn_at is not None:
            raise ConsentMissingError(
                f"the customer withdrew consent {consent.consent_id}", {"reason": "withdrawn"}
            )
        order = new_order(request, solution, self._partner_kinds, consent)
        stored, created = await self._store.create_order(
            order,
            (request.request_id, _hash(request)),
            NewEvent("order_created", {"state": "pending"}),
            audit=[_placed_record(order, consent)],
        )
        if not created:  # a concurrent duplicate stored its order first
            earlier = await self._store.find_order_request(request.partner_id, request.request_id)
            if earlier is not None and earlier.request_hash != _hash(request):
                raise _reused(request.request_id)
        return stored.order_id

    async def GetOrder(
        self, request: order_service_pb2.GetOrderRequest, context: Ctx
    ) -> order_service_pb2.GetOrderResponse:
        request.partner_id = caller_partner_id(request.partner_id)
        order = await self._visible(request.order_id, request.partner_id, GET)
        return order_service_pb2.GetOrderResponse(order=order_message(order))

    async def ListOrders(
        self, request: order_service_pb2.ListOrdersRequest, context: Ctx
    ) -> order_service_pb2.ListOrdersResponse:
        request.partner_id = caller_partner_id(request.partner_id)
        v = Violations()
        v.partner_id("partner_id", request.partner_id)
        if request.page_size < 0 or request.page_size > MAX_PAGE_SIZE:
            v.add("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")
        after = None
        if request.page_token:
            try:
                after = _decode_token(request.page_token)
            except ValueError:
                v.add("page_token", "is not a token from a previous page")
        if v:
            raise InvalidRequestError(v.items)
        size = request.page_size or DEFAULT_PAGE_SIZE
        orders = await self._store.list_orders(request.partner_id, size + 1, after)
        page, more = orders[:size], len(orders) > size
        token = _encode_token(page[-1]) if more and page else ""
        return order_service_pb2.ListOrdersResponse(
            orders=[order_message(o) for o in page], next_page_token=token
        )

    async def CancelOrder(
        self, request: order_service_pb2.CancelOrderRequest, context: Ctx
    ) -> order_service_pb2.CancelOrderResponse:
        request.partner_id = caller_partner_id(request.partner_id)
        order = await self._visible(request.order_id, request.partner_id, CANCEL)
        if order.owner != request.partner_id:
            raise NotOwnerError(
                f"only the partner that booked order {order.order_id} may cancel it"
            )
        kinds = set(request.component_kinds) or {
            c.kind for c in order.components if c.state == ComponentState.CONFIRMED
        }
        unknown = kinds - {c.kind for c in order.components}
        if unknown:
            raise InvalidRequestError(
                [
                    FieldViolation(
                        "component_kinds", f"not in the order: {', '.join(sorted(unknown))}"
                    )
                ]
            )
        targets = [c for c in order.components if c.kind in kinds]
        if order.state not in (OrderState.CONFIRMED, OrderState.PARTIALLY_CONFIRMED) or any(
            c.state != ComponentState.CONFIRMED for c in targets
        ):
            raise OrderNotCancellableError(
                f"order {order.order_id} is {order.state.value}: "
                "only confirmed components can be cancelled"
            )
        # The reference protocol's terms: a confirmed booking is refunded in full.
        refunds = [
            order_pb2.ComponentRefund(
                kind=c.kind, refund=to_money(c.currency_code, Decimal(c.base) + Decimal(c.tax))
            )
            for c in targets
        ]
        if request.confirm:
            order = await self._request_cancellation(order, targets)
        return order_service_pb2.CancelOrderResponse(refunds=refunds, order=order_message(order))

    async def WatchOrder(
        self, request: order_service_pb2.WatchOrderRequest, context: Ctx
    ) -> AsyncIterator[order_service_pb2.WatchOrderResponse]:
        request.partner_id = caller_partner_id(request.partner_id)
        visible = await self._visible(request.order_id, request.partner_id, WATCH)
        mine = {c.kind for c in visible.components}
        participant = visible.owner != request.partner_id
        after = max(0, request.after_sequence)
        while True:
            events = await self._store.events(request.order_id, after, 100)
            for event in events:
                after = event.seq
                shown = _event_for_participant(event, mine) if participant else event
                if shown is not None:
                    yield order_service_pb2.WatchOrderResponse(event=event_message(shown))
            if not events:
                order = await self._store.get_order(request.order_id)
                if order is not None and order.state in FINAL_STATES:
                    return
                await self._notifier.wait(request.order_id, WATCH_POLL_S)

    # -- helpers --------------------------------------------------------------------------------

    async def _visible(self, order_id: str, partner_id: str, action: str) -> OrderRecord:
        """The order as `partner_id` may see it: whole to its owner; to a partner taking part,
        only that partner's components (no solution, no consent). NOT_FOUND alike for missing
        orders and orders the partner has no part in."""
        order = await self._store.get_order(order_id) if order_id else None
        if order is not None and not await session_sees_order(self._store, order):
            # A customer-session token sees only the orders of its own session's solutions.
            await not_found(self._store, action, "order", order_id, exists=True)
        if order is not None and order.owner == partner_id:
            return order
        mine = tuple(c for c in order.components if c.partner_id == partner_id) if order else ()
        if order is None or not mine:
            await not_found(self._store, action, "order", order_id, exists=order is not None)
        return replace(order, components=mine, solution_id="", consent_id="")

    async def _request_cancellation(
        self, order: OrderRecord, targets: list[ComponentRecord]
    ) -> OrderRecord:
        lease = await self._store.acquire_lease(order.order_id, "cancel-request", 5.0)
        if lease is None:
            raise OrderNotCancellableError(f"order {order.order_id} is busy; try again")
        try:
            marked = [replace(c, cancel_requested=True, detail=CANCEL_REQUESTED) for c in targets]
            order = await self._store.save_progress(
                lease,
                state=OrderState.CANCELLING,
                components=marked,
                events=[NewEvent("cancellation_requested", {"state": "cancelling"})],
            )
        finally:
            await self._store.release_lease(lease)
        self._notifier.changed(order.order_id)
        await self.start_saga(order.order_id)
        current = await self._store.get_order(order.order_id)
        assert current is not None
        return current


def _event_for_participant(event: OrderEvent, mine: set[str]) -> OrderEvent | None:
    """What a partner taking part sees of an event: its own components' events, and the
    order's own events without details (which may speak of other partners)."""
    component = event.payload.get("component")
    if component is not None:
        return event if component in mine else None
    return replace(event, payload={k: v for k, v in event.payload.items() if k != "detail"})


def _reused(request_id: str) -> RequestIdReusedError:
    return RequestIdReusedError(f"request_id {request_id!r} was used before with other content")


def new_order(
    request: order_service_pb2.BookSolutionRequest,
    solution: solution_pb2.Solution,
    partner_kinds: Mapping[str, str],
    consent: ConsentRecord,
) -> OrderRecord:
    v = Violations()
    accepted = set(request.accepted_components)
    known = {c.kind for c in solution.components}
    if accepted - known:
        v.add("accepted_components", f"not in the solution: {', '.join(sorted(accepted - known))}")
    chosen = [
        c
        for c in solution.components
        if c.status == solution_pb2.COMPONENT_STATUS_OK and (not accepted or c.kind in accepted)
    ]
    if not chosen and not v:
        v.add("accepted_components", "no bookable component accepted")
    profiles = solution.trip.travellers
    depart = solution.trip.depart_date
    booking_violations(
        v,
        request.travellers,
        profiles,
        sorted({partner_kinds.get(c.offer.partner_id, "") for c in chosen}),
        date(depart.year, depart.month, depart.day),
    )
    if v:
        raise InvalidRequestError(v.items)
    components = []
    for c in solution.components:
        if c.status != solution_pb2.COMPONENT_STATUS_OK:
            continue
        price = c.offer.price
        pending = c in chosen
        kind = partner_kinds.get(c.offer.partner_id, "")
        components.append(
            ComponentRecord(
                kind=c.kind,
                partner_id=c.offer.partner_id,
                offer_id=c.offer.offer_id,
                currency_code=price.total.currency_code,
                base=str(from_money(price.base).normalize()),
                tax=str(from_money(price.tax).normalize()),
                state=ComponentState.PENDING if pending else ComponentState.SKIPPED,
                disclosure=disclosure_for(kind, request.travellers, profiles).to_json()
                if pending
                else None,
            )
        )
    now = datetime.now(UTC)
    return OrderRecord(
        order_id=f"ord_{uuid.uuid4().hex}",
        owner=request.partner_id,
        solution_id=request.solution_id,
        state=OrderState.PENDING,
        accept_partial=request.accept_partial,
        components=tuple(components),
        created_at=now,
        updated_at=now,
        consent_id=consent.consent_id,
    )


def _placed_record(order: OrderRecord, consent: ConsentRecord) -> AuditRecord:
    """The order placed: which personal data the gateway now keeps for its holds."""
    kept = {c.kind: Disclosure.from_json(c.disclosure) for c in order.components if c.disclosure}
    return disclosure_record(
        actor=order.owner,
        action=BOOK,
        subject=order.order_id,
        recipient="",
        consent=consent,
        values={kind: [dict(t) for t in d.travellers] for kind, d in kept.items()},
        field_names=[f"{kind}.{name}" for kind, d in kept.items() for name in d.field_names],
        outcome="created",
    )


def _hash(request: order_service_pb2.BookSolutionRequest) -> str:
    canonical = order_service_pb2.BookSolutionRequest()
    canonical.CopyFrom(request)
    canonical.ClearField("request_id")
    return hashlib.sha256(canonical.SerializeToString(deterministic=True)).hexdigest()


def _encode_token(order: OrderRecord) -> str:
    raw = f"{order.created_at.isoformat()}|{order.order_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_token(token: str) -> tuple[datetime, str]:
    """The cursor a page token carries. Anyone can forge one, so its time must be aware and
    in UTC's range (the store compares UTC times): else ValueError, never INTERNAL."""
    try:
        created, order_id = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None:
            raise ValueError("a page token's time has a zone")
        return moment.astimezone(UTC), order_id
    except (ValueError, OverflowError, UnicodeDecodeError) as exc:
        raise ValueError("bad page token") from exc
