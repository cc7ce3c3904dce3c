"""Who may see what: the rule every id-taking RPC applies, and the audit of refusals.

An object the caller may not see answers exactly like one that does not exist (NOT_FOUND,
same message), so ids cannot be probed; the attempt is recorded in the audit log.

A customer-session token (docs/front-ends.md) narrows its partner's view to one customer
session: the solutions that session composed (`Solution.customer_session`) and the orders
booked from them — every other object of the same partner is NOT_FOUND to it, and audited.
"""

from __future__ import annotations

from typing import NoReturn

from gateway.auth import current_caller
from gateway.errors import NotFoundError, PermissionDeniedError
from gateway.storage import AuditRecord, AuditStore, OrderRecord, SolutionStore
from partnergateway.v1 import solution_pb2

# Ids come from callers: the audit log keeps a bounded prefix of whatever was sent.
_MAX_SUBJECT = 128


class NotOwnerError(PermissionDeniedError):
    """The caller may see the object (it takes part in it) but not act on it."""

    reason = "NOT_OWNER"


def acting_partner() -> str:
    """The authenticated caller, or "anonymous" when the gateway does not authenticate; a
    customer session as `partner/session`."""
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


async def not_found(
    store: AuditStore, action: str, what: str, subject: str, *, exists: bool
) -> NoReturn:
    """Audits the attempt (outcome "denied" when the object exists, else "not_found") and
    raises NOT_FOUND alike in both cases."""
    await store.append_audit(
        [
            AuditRecord(
                actor=acting_partner(),
                action=action,
                subject=subject[:_MAX_SUBJECT],
                outcome="denied" if exists else "not_found",
            )
        ]
    )
    raise NotFoundError(f"{what} {subject[:_MAX_SUBJECT]!r} not found")
