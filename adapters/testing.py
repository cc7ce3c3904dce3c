"""In-memory partners for fast tests, at the adapter seam (like httpx's `MockTransport`).

`FakeAdapter(partner_id, kind, handler)` is a `PartnerAdapter` that hands every call to
`handler(call)` — a plain or async function given a `Call` (what was asked) that returns the
answer or raises an `AdapterError` — and keeps every call in `calls`. Like a real adapter it
honours the deadline: no answer by then is `PartnerTimeout`.

`FakePartner` is a ready handler that behaves like a partner of the reference protocol: it
quotes its `offers`, holds only offers it quoted, confirms and cancels holds, answers a
repeated idempotency key with its first answer (and another request under a used key with
409), keeps a `ledger`, and can be slow (`latency_s`) or fail on purpose (`fail_next`) —
including after doing the work, the answer lost on its way back. Like a real server it
finishes what it started even when the caller stops waiting.

    partner = FakePartner("airline-a", [offer("airline-a", "o-1", "100.00")])
    adapter = FakeAdapter("airline-a", "airline", partner)
    partner.fail_next("hold", PartnerTimeout("airline-a", "lost"), after_work=True)

Nothing here touches the network; a saga or a composition runs in milliseconds.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from adapters._errors import AdapterError, BookingNotFound, PartnerRejected, PartnerTimeout
from adapters._model import (
    BookingStatus,
    Cancellation,
    Confirmation,
    HeldBooking,
    Hold,
    Offer,
    Price,
    QuoteRequest,
)

__all__ = [
    "Answer",
    "Call",
    "FakeAdapter",
    "FakePartner",
    "Handler",
    "LedgerEntry",
    "Operation",
    "offer",
]

Operation = Literal["quote", "retrieve", "hold", "confirm", "cancel"]
Answer = Sequence[Offer] | HeldBooking | Hold | Confirmation | Cancellation
Handler = Callable[["Call"], Answer | Awaitable[Answer]]
A = TypeVar("A")


@dataclass(frozen=True)
class Call:
    """One call to a fake partner: the operation and what it carried."""

    operation: Operation
    partner_id: str
    deadline: float
    request: QuoteRequest | None = None  # quote
    reference: str = ""  # retrieve
    offer_id: str = ""  # hold
    travellers: tuple[Mapping[str, Any], ...] = ()  # hold
    hold_id: str = ""  # confirm, cancel
    idempotency_key: str = ""  # hold, confirm, cancel


class FakeAdapter:
    """A `PartnerAdapter` answering from `handler`, in memory."""

    def __init__(self, partner_id: str, kind: str, handler: Handler) -> None:
        self._partner_id = partner_id
        self._kind = kind
        self._handler = handler
        self.calls: list[Call] = []
        self.closed = False

    @property
    def partner_id(self) -> str:
        return self._partner_id

    @property
    def kind(self) -> str:
        return self._kind

    def called(self, operation: Operation) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    async def quote(self, request: QuoteRequest, *, deadline: float) -> Sequence[Offer]:
        answer = await self._ask(Call("quote", self._partner_id, deadline, request=request))
        if not isinstance(answer, Sequence) or not all(isinstance(o, Offer) for o in answer):
            raise TypeError(f"a quote is answered with offers, not {answer!r}")
        return answer

    async def retrieve(self, reference: str, *, deadline: float) -> HeldBooking:
        call = Call("retrieve", self._partner_id, deadline, reference=reference)
        return _expect(await self._ask(call), HeldBooking)

    async def hold(
        self,
        offer_id: str,
        travellers: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str,
        deadline: float,
    ) -> Hold:
        call = Call(
            "hold",
            self._partner_id,
            deadline,
            offer_id=offer_id,
            travellers=tuple(dict(t) for t in travellers),
            idempotency_key=idempotency_key,
        )
        return _expect(await self._ask(call), Hold)

    async def confirm(self, hold_id: str, *, idempotency_key: str, deadline: float) -> Confirmation:
        call = Call(
            "confirm", self._partner_id, deadline, hold_id=hold_id, idempotency_key=idempotency_key
        )
        return _expect(await self._ask(call), Confirmation)

    async def cancel(self, hold_id: str, *, idempotency_key: str, deadline: float) -> Cancellation:
        call = Call(
            "cancel", self._partner_id, deadline, hold_id=hold_id, idempotency_key=idempotency_key
        )
        return _expect(await self._ask(call), Cancellation)

    async def aclose(self) -> None:
        self.closed = True

    async def _ask(self, call: Call) -> Answer:
        self.calls.append(call)
        try:
            async with asyncio.timeout_at(call.deadline):
                answer = self._handler(call)
                if inspect.isawaitable(answer):
                    return await answer
                return answer
        except TimeoutError as exc:
            raise PartnerTimeout(self._partner_id, "no answer before the deadline") from exc


def _expect(answer: object, kind: type[A]) -> A:
    if not isinstance(answer, kind):
        raise TypeError(f"expected a {kind.__name__}, the handler answered {answer!r}")
    return answer


def offer(
    partner_id: str,
    offer_id: str,
    base: str = "100.00",
    *,
    currency_code: str = "CNY",
    tax: str = "0",
    product_code: str = "",
    rating: float = 4.0,
    attributes: Mapping[str, str] | None = None,
    expires_in: timedelta = timedelta(minutes=15),
) -> Offer:
    """An offer with sensible defaults, for a `FakePartner` to quote."""
    return Offer(
        partner_id=partner_id,
        offer_id=offer_id,
        product_code=product_code or offer_id,
        title=f"{partner_id} {product_code or offer_id}",
        price=Price(currency_code, Decimal(base), Decimal(tax)),
        rating=rating,
        expires_at=datetime.now(UTC) + expires_in,
        attributes=dict(attributes or {}),
    )


@dataclass(frozen=True)
class LedgerEntry:
    """What a `FakePartner` saw and answered: `outcome` is "ok", "replayed" or an error's
    `outcome`; `lost` when the work was done but the answer never reached the caller."""

    operation: Operation
    idempotency_key: str
    outcome: str
    lost: bool = False


@dataclass
class _Fault:
    error: AdapterError
    count: int
    after_work: bool


@dataclass
class _Booking:
    offer: Offer
    travellers: tuple[Mapping[str, Any], ...]
    status: str = "held"  # held | confirmed | cancelled
    reference: str | None = None


@dataclass
class FakePartner:
    """A reference-protocol partner in memory; use it as a `FakeAdapter`'s handler."""

    partner_id: str
    offers: Sequence[Offer] = ()
    latency_s: dict[str, float] = field(default_factory=dict)
    """Seconds each operation takes before its work is done."""
    ledger: list[LedgerEntry] = field(default_factory=list)
    holds: dict[str, _Booking] = field(default_factory=dict)
    bookings: dict[str, _Booking] = field(default_factory=dict)
    """Bookings the customer holds, by reference (`retrieve` finds confirmed holds too)."""
    _faults: dict[str, list[_Fault]] = field(default_factory=dict)
    _answers: dict[str, tuple[str, Answer | AdapterError]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def fail_next(
        self, operation: Operation, error: AdapterError, *, count: int = 1, after_work: bool = False
    ) -> None:
        """The next `count` calls of `operation` raise `error` — before any work, or with
        `after_work`, once the work is done (its answer lost on the way back)."""
        self._faults.setdefault(operation, []).append(_Fault(error, count, after_work))

    def entries(self, operation: Operation) -> list[LedgerEntry]:
        return [e for e in self.ledger if e.operation == operation]

    async def __call__(self, call: Call) -> Answer:
        # Shielded: a server goes on with a request after its caller stopped waiting.
        return await asyncio.shield(asyncio.ensure_future(self._serve(call)))

    async def _serve(self, call: Call) -> Answer:
        delay = self.latency_s.get(call.operation, 0.0)
        if delay:
            await asyncio.sleep(delay)
        fault = self._take_fault(call.operation)
        if fault is not None and not fault.after_work:
            self.ledger.append(
                LedgerEntry(call.operation, call.idempotency_key, fault.error.outcome)
            )
            raise fault.error
        answer = self._answer(call)
        if fault is not None:
            self.ledger[-1] = LedgerEntry(
                call.operation, call.idempotency_key, self.ledger[-1].outcome, lost=True
            )
            raise fault.error
        if isinstance(answer, AdapterError):
            raise answer
        return answer

    def _note(self, call: Call, outcome: str) -> None:
        self.ledger.append(LedgerEntry(call.operation, call.idempotency_key, outcome))

    def _take_fault(self, operation: str) -> _Fault | None:
        queue = self._faults.get(operation)
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.pop(0)
        return fault

    def _answer(self, call: Call) -> Answer | AdapterError:
        """The work, or the first answer to the same key; recorded in the ledger."""
        fingerprint = ""
        if call.idempotency_key:
            fingerprint = json.dumps(
                [call.operation, call.offer_id, call.travellers, call.hold_id],
                sort_keys=True,
                default=str,
            )
            first = self._answers.get(call.idempotency_key)
            if first is not None:
                if first[0] != fingerprint:
                    error = _conflict(self.partner_id, "idempotency key reused with another body")
                    self.ledger.append(
                        LedgerEntry(call.operation, call.idempotency_key, "rejected")
                    )
                    return error
                self._note(call, "replayed")
                return first[1]
        try:
            answer: Answer | AdapterError = self._work(call)
        except AdapterError as exc:
            answer = exc
        if call.idempotency_key:
            self._answers[call.idempotency_key] = (fingerprint, answer)
        outcome = answer.outcome if isinstance(answer, AdapterError) else "ok"
        self._note(call, outcome)
        return answer

    def _work(self, call: Call) -> Answer:
        if call.operation == "quote":
            return tuple(self.offers)
        if call.operation == "retrieve":
            return self._retrieve(call.reference)
        if call.operation == "hold":
            chosen = next((o for o in self.offers if o.offer_id == call.offer_id), None)
            if chosen is None:
                raise _conflict(self.partner_id, f"offer {call.offer_id} is unknown")
            hold_id = f"h-{self.partner_id}-{next(self._ids)}"
            self.holds[hold_id] = _Booking(chosen, call.travellers)
            return Hold(hold_id=hold_id, expires_at=None)
        booking = self.holds.get(call.hold_id)
        if booking is None:
            raise PartnerRejected(
                self.partner_id, f"hold {call.hold_id} does not exist", status=404, code="not_found"
            )
        if call.operation == "confirm":
            if booking.status == "cancelled":
                raise _conflict(self.partner_id, "hold is cancelled")
            booking.status = "confirmed"
            booking.reference = booking.reference or f"R-{call.hold_id}"
            self.bookings[booking.reference] = booking
            return Confirmation(hold_id=call.hold_id, reference=booking.reference)
        refund = booking.offer.price if booking.status == "confirmed" else None
        booking.status = "cancelled"
        return Cancellation(hold_id=call.hold_id, refund=refund)

    def _retrieve(self, reference: str) -> HeldBooking:
        booking = self.bookings.get(reference)
        if booking is None:
            raise BookingNotFound(
                self.partner_id, f"booking {reference} does not exist", status=404, code="not_found"
            )
        chosen = booking.offer
        return HeldBooking(
            partner_id=self.partner_id,
            reference=reference,
            status=BookingStatus.CANCELLED
            if booking.status == "cancelled"
            else BookingStatus.CONFIRMED,
            offer_id=chosen.offer_id,
            product_code=chosen.product_code,
            title=chosen.title,
            price=chosen.price,
            attributes=chosen.attributes,
            traveller_count=len(booking.travellers) or None,
        )


def _conflict(partner_id: str, message: str) -> PartnerRejected:
    return PartnerRejected(partner_id, message, status=409, code="conflict")
