"""Which scope each RPC needs, which RPCs need no token at all, and which a customer-session
token may call.

A method missing from `RPC_SCOPES` is refused (fail closed); tests/auth checks that every RPC
of the contract has its scope. A customer-session token (RFC 8693, docs/front-ends.md) may call
only `SESSION_RPCS`, and carries only `SESSION_SCOPES`, whatever its partner may do.
"""

from __future__ import annotations

__all__ = [
    "ALL_SCOPES",
    "EXEMPT_SERVICES",
    "RPC_SCOPES",
    "SESSION_RPCS",
    "SESSION_SCOPES",
    "is_exempt",
    "scope_for",
    "session_may_call",
]

_SOLUTIONS = "/partnergateway.v1.SolutionService/"
_ORDERS = "/partnergateway.v1.OrderService/"
_FEEDBACK = "/partnergateway.v1.FeedbackService/"
_CONSENTS = "/partnergateway.v1.ConsentService/"

RPC_SCOPES: dict[str, str] = {
    f"{_SOLUTIONS}ComposeSolution": "solutions:compose",
    f"{_SOLUTIONS}StreamSolution": "solutions:compose",
    f"{_SOLUTIONS}GetSolution": "solutions:read",
    f"{_ORDERS}BookSolution": "orders:write",
    f"{_ORDERS}CancelOrder": "orders:write",
    f"{_ORDERS}GetOrder": "orders:read",
    f"{_ORDERS}ListOrders": "orders:read",
    f"{_ORDERS}WatchOrder": "orders:read",
    f"{_FEEDBACK}SubmitFeedback": "feedback:write",
    f"{_FEEDBACK}GetKpiReport": "kpis:read",
    f"{_CONSENTS}GetConsent": "consents:read",
    f"{_CONSENTS}WithdrawConsent": "consents:write",
}

ALL_SCOPES: tuple[str, ...] = tuple(dict.fromkeys(RPC_SCOPES.values()))
"""Every scope the gateway knows, in a stable order."""

SESSION_RPCS: frozenset[str] = frozenset(
    {
        f"{_SOLUTIONS}ComposeSolution",
        f"{_SOLUTIONS}StreamSolution",
        f"{_SOLUTIONS}GetSolution",
        f"{_ORDERS}BookSolution",
        f"{_ORDERS}GetOrder",
        f"{_ORDERS}WatchOrder",
    }
)
"""What a customer in a browser does with a session token: compose, read and book that
session's own solutions and orders. Listing, cancelling, feedback, KPIs and consents stay
with the partner's own systems."""

SESSION_SCOPES: tuple[str, ...] = tuple(dict.fromkeys(RPC_SCOPES[m] for m in sorted(SESSION_RPCS)))
"""The only scopes a customer-session token can carry."""

EXEMPT_SERVICES: tuple[str, ...] = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)
"""Load balancers probe health and tools list services without credentials."""


def is_exempt(method: str) -> bool:
    """Whether `method` (`/package.Service/Method`) is served without a token."""
    service = method.lstrip("/").partition("/")[0]
    return service in EXEMPT_SERVICES


def scope_for(method: str) -> str | None:
    return RPC_SCOPES.get(method)


def session_may_call(method: str) -> bool:
    """Whether a customer-session token may call `method` at all."""
    return method in SESSION_RPCS
