"""Knobs: the sandbox's dials for latency, errors and outages, and their JSON form.

`Knobs` is immutable; the partner swaps in a new value on every change (a PATCH, or a
`fail_next` rule being used up), so a test can also assign `state.knobs = replace(...)`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sandbox._errors import PartnerError

__all__ = ["OPERATIONS", "FailRule", "Knobs"]

#: Operations a ledger entry or a `fail_next` rule names.
OPERATIONS = ("token", "quote", "retrieve", "hold", "confirm", "cancel", "health")


def _bad(field: str, message: str) -> PartnerError:
    return PartnerError(400, "invalid_request", f"{field} {message}", field)


def _int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(field, f"must be an integer between {low} and {high}")
    return value


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(field, "must be true or false")
    return value


@dataclass(frozen=True)
class FailRule:
    """Answer the next `count` calls of `operation` with `status` (and `Retry-After`); with
    `malformed`, answer 200 with a truncated JSON body instead (a partner's broken release)."""

    operation: str
    status: int = 503
    count: int = 1
    retry_after_s: int | None = None
    malformed: bool = False

    @classmethod
    def from_json(cls, value: object, field: str) -> FailRule:
        if not isinstance(value, dict):
            raise _bad(field, "must be an object")
        unknown = set(value) - {"operation", "status", "count", "retry_after_s", "malformed"}
        if unknown:
            raise _bad(f"{field}.{min(unknown)}", "is not a fail_next field")
        operation = value.get("operation")
        if operation not in OPERATIONS:
            raise _bad(f"{field}.operation", f"must be one of {', '.join(OPERATIONS)}")
        retry_after = value.get("retry_after_s")
        return cls(
            operation=str(operation),
            status=_int(value.get("status", 503), f"{field}.status", 400, 599),
            count=_int(value.get("count", 1), f"{field}.count", 1, 1_000_000),
            retry_after_s=None
            if retry_after is None
            else _int(retry_after, f"{field}.retry_after_s", 0, 86_400),
            malformed=_bool(value.get("malformed", False), f"{field}.malformed"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "status": self.status,
            "count": self.count,
            "retry_after_s": self.retry_after_s,
            "malformed": self.malformed,
        }


@dataclass(frozen=True)
class Knobs:
    """Fault and timing settings of one partner (docs/partner-protocol.md, "Sandbox control")."""

    latency_ms: int = 0
    latency_jitter_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    outage: bool = False
    token_ttl_s: int = 300
    offer_ttl_s: int = 900
    fail_next: tuple[FailRule, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "latency_jitter_ms": self.latency_jitter_ms,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "outage": self.outage,
            "token_ttl_s": self.token_ttl_s,
            "offer_ttl_s": self.offer_ttl_s,
            "fail_next": [rule.to_json() for rule in self.fail_next],
        }

    def patched(self, patch: Mapping[str, Any]) -> Knobs:
        """A copy with `patch` applied; `fail_next`, when given, replaces the whole queue."""
        known = {f.name for f in fields(self)}
        unknown = set(patch) - known
        if unknown:
            raise _bad(min(unknown), "is not a knob")
        changes: dict[str, Any] = {}
        for name, value in patch.items():
            changes[name] = _read_knob(name, value)
        return replace(self, **changes)


def _read_knob(name: str, value: object) -> object:
    if name in ("latency_ms", "latency_jitter_ms"):
        return _int(value, name, 0, 600_000)
    if name in ("token_ttl_s", "offer_ttl_s"):
        return _int(value, name, 0, 86_400 * 30)
    if name == "error_status":
        return _int(value, name, 400, 599)
    if name == "outage":
        if not isinstance(value, bool):
            raise _bad(name, "must be true or false")
        return value
    if name == "error_rate":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(name, "must be a number between 0 and 1")
        rate = float(value)
        if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
            raise _bad(name, "must be a number between 0 and 1")
        return rate
    # fail_next
    if not isinstance(value, list):
        raise _bad(name, "must be an array")
    return tuple(FailRule.from_json(item, f"fail_next[{i}]") for i, item in enumerate(value))
