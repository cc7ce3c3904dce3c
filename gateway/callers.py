"""Who is calling: the one home of an RPC's call context. The authenticated caller of the call
being handled (`current_caller`, set by `gateway.auth`'s interceptor), the partner it acts for
(`caller_partner_id` for handlers, `caller_of` for per-caller policies), its customer session,
and whether a stored solution or order is visible to that session (`session_sees`). What a
refusal looks like — NOT_FOUND alike, audited — is `gateway.access`'s.

With `auth.required`, the caller is the authenticated partner, so a partner cannot act for or
spend the rate limit of another by naming it. Without authentication, the caller is the
partner the request names (`entry.partner_id` for compositions, `partner_id` elsewhere). A
customer-session token's caller is its partner (`client_id`; `act` names it too): a telecom's
customers in browsers spend that telecom's rate limit, as its own systems do, but see only
the solutions their session composed and the orders booked from them (docs/front-ends.md).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf import message

from gateway.errors import PartnerMismatchError
from gateway.model import OrderRecord
from partnergateway.v1 import solution_pb2

if TYPE_CHECKING:  # the store only as a type: importing the backends here would load them
    from gateway.storage import SolutionStore

__all__ = [
    "Caller",
    "acting_partner",
    "caller_of",
    "caller_partner_id",
    "caller_session",
    "current_caller",
    "session_sees",
    "session_sees_order",
    "set_caller",
]


@dataclass(frozen=True)
class Caller:
    """Who an access token says is calling."""

    partner_id: str
    """The `client_id` claim (else `sub`): a registered partner."""
    scopes: frozenset[str]
    issuer: str
    token_id: str | None = None
    session: str | None = None
    """For a customer-session token (RFC 8693: `act` names the partner), the pseudonymous
    customer session (`sub`): the caller then sees only that session's solutions and
    orders. None for a partner's own token."""


_CURRENT: ContextVar[Caller | None] = ContextVar("gateway_auth_caller", default=None)


def current_caller() -> Caller | None:
    """The caller of this RPC, or None when the gateway does not authenticate callers."""
    return _CURRENT.get()


def set_caller(caller: Caller) -> None:
    """Set by the authentication interceptor, in the RPC's own context, before the handler."""
    _CURRENT.set(caller)


def caller_partner_id(request_value: str) -> str:
    """The partner an RPC acts for: the authenticated caller when callers are authenticated
    (a request naming another partner is refused), else the partner the request names."""
    caller = _CURRENT.get()
    if caller is None:
        return request_value
    if request_value and request_value != caller.partner_id:
        raise PartnerMismatchError(
            "the request names another partner than the caller",
            {"caller": caller.partner_id},
        )
    return caller.partner_id


def caller_of(request: Any, context: Any) -> str | None:
    """The partner id a call is made for, or None when the request names none; for the
    per-caller policies (rate limits), which run before the handler. With `auth.required`,
    the authenticated caller, whatever the request names."""
    del context
    authenticated = current_caller()
    if authenticated is not None:
        return authenticated.partner_id
    if not isinstance(request, message.Message):
        return None
    fields = request.DESCRIPTOR.fields_by_name
    named: Any = request  # any of the gateway's request messages
    if "entry" in fields:
        partner_id = str(named.entry.partner_id)
    elif "partner_id" in fields:
        partner_id = str(named.partner_id)
    else:
        return None
    return partner_id or None


def acting_partner() -> str:
    """The authenticated caller, or "anonymous" when the gateway does not authenticate; a
    customer session as `partner/session`. The actor of the audit records."""
    caller = current_caller()
    if caller is None:
        return "anonymous"
    return f"{caller.partner_id}/{caller.session}" if caller.session else caller.partner_id


def caller_session() -> str:
    """The customer session of a customer-session token; "" for a partner's own token."""
    caller = current_caller()
    return caller.session or "" if caller is not None else ""


def session_sees(solution: solution_pb2.Solution) -> bool:
    """Whether the caller's session (if it is one) composed `solution`. A partner's own token
    passes: whether the partner may see it is the caller's other check."""
    session = caller_session()
    return not session or solution.customer_session == session


async def session_sees_order(store: SolutionStore, order: OrderRecord) -> bool:
    """Whether the caller's session (if it is one) booked `order`: it composed the order's
    solution."""
    if not caller_session():
        return True
    body = await store.load_solution(order.solution_id) if order.solution_id else None
    return body is not None and session_sees(solution_pb2.Solution.FromString(body))
