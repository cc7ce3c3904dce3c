"""Fault injection from the knobs: outage, queued `fail_next` failures, random errors, latency.

Random draws come from generators seeded by the partner id, so a run with the same calls
sees the same failures; setting `error_rate` re-seeds them (see `PartnerState.patch_knobs`).
"""

from __future__ import annotations

import random
from dataclasses import replace

from sandbox._catalogue import stable_int
from sandbox._errors import MalformedAnswer, PartnerError, code_for_status
from sandbox._knobs import Knobs

__all__ = ["BUSINESS_OPERATIONS", "Faults", "injected_error", "outage_error"]

#: Operations that do the partner's real work: latency and `error_rate` apply to these only;
#: token and health answer at once (an identity provider and a probe are not the slow part).
BUSINESS_OPERATIONS = frozenset({"quote", "retrieve", "hold", "confirm", "cancel"})
# A 429 must say when to come back (docs/partner-protocol.md); used when the rule gives none.
_DEFAULT_RETRY_AFTER_S = 1


def outage_error() -> PartnerError:
    return PartnerError(503, "unavailable", "partner is in an outage")


def injected_error(status: int, retry_after_s: int | None) -> PartnerError:
    """The error a knob injects, shaped like the real one for that status."""
    headers: dict[str, str] = {}
    if retry_after_s is None and status == 429:
        retry_after_s = _DEFAULT_RETRY_AFTER_S
    if retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return PartnerError(
        status, code_for_status(status), f"injected fault ({status})", headers=headers
    )


class Faults:
    """The seeded generators behind `error_rate` and `latency_jitter_ms`."""

    def __init__(self, partner_id: str) -> None:
        self._seed = stable_int("sandbox-faults", partner_id)
        self.reseed()

    def reseed(self) -> None:
        # Two generators, so changing the jitter never shifts which calls fail.
        self._errors = random.Random(self._seed)
        self._jitter = random.Random(self._seed + 1)

    def latency_s(self, knobs: Knobs, operation: str) -> float:
        """How long `operation` waits before it runs."""
        if operation not in BUSINESS_OPERATIONS or knobs.latency_ms <= 0:
            return 0.0
        jitter = knobs.latency_jitter_ms
        delay_ms = knobs.latency_ms + (self._jitter.uniform(-jitter, jitter) if jitter else 0.0)
        return max(delay_ms, 0.0) / 1000.0

    def draw(self, knobs: Knobs, operation: str) -> tuple[Knobs, PartnerError | None]:
        """The fault for this call, if any, and the knobs with a used `fail_next` rule spent."""
        for i, rule in enumerate(knobs.fail_next):
            if rule.operation != operation:
                continue
            rules = list(knobs.fail_next)
            if rule.count > 1:
                rules[i] = replace(rule, count=rule.count - 1)
            else:
                del rules[i]
            error = (
                MalformedAnswer()
                if rule.malformed
                else injected_error(rule.status, rule.retry_after_s)
            )
            return replace(knobs, fail_next=tuple(rules)), error
        if (
            operation in BUSINESS_OPERATIONS
            and knobs.error_rate > 0.0
            and self._errors.random() < knobs.error_rate
        ):
            return knobs, injected_error(knobs.error_status, None)
        return knobs, None
