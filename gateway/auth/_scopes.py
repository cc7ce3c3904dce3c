"""Which scope each RPC needs, and which RPCs need no token at all.

A method missing from `RPC_SCOPES` is refused (fail closed); tests/auth checks that every RPC
of the contract has its scope.
"""

from __future__ import annotations

__all__ = ["ALL_SCOPES", "EXEMPT_SERVICES", "RPC_SCOPES", "is_exempt", "scope_for"]

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
