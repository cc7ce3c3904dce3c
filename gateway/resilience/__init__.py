"""Staying up when partners are not: circuit breakers and bulkheads around every adapter."""

from gateway.resilience.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from gateway.resilience.bulkhead import Bulkhead, BulkheadFullError, BulkheadPolicy
from gateway.resilience.guarded import (
    CircuitOpenError,
    GuardedAdapter,
    PartnerBusyError,
    essential,
)

__all__ = [
    "BreakerPolicy",
    "BreakerState",
    "Bulkhead",
    "BulkheadFullError",
    "BulkheadPolicy",
    "CircuitBreaker",
    "CircuitOpenError",
    "GuardedAdapter",
    "PartnerBusyError",
    "essential",
]
