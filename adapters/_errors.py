"""The one error tree callers of an adapter ever see, and how each failure is classified.

Adapters translate HTTP-library, OAuth and JSON errors into these at the boundary
(`raise ... from exc`), so nothing above an adapter imports httpx2, aiohttp or Authlib.

    AdapterError                 every partner failure
    ├── PartnerUnavailable       connection refused/reset, 502/503/504
    │   └── PartnerRateLimited   429 (after `retry_after_s`)
    ├── PartnerTimeout           no answer within the budget
    ├── PartnerAuthError         the partner refused our credentials or token
    ├── PartnerRejected          4xx: the partner will not serve this request
    │   └── BookingNotFound      404 to a retrieve: the partner knows no booking by that reference
    ├── PartnerServerError       500: the partner failed
    ├── PartnerProtocolError     the answer does not follow the partner's protocol
    └── CallNotSent              refused before it left (circuit open, too many in flight)

Every class answers three questions, as class attributes, so callers never re-derive them:

    class                 retryable  effect_unknown  counts_against_breaker
    PartnerUnavailable    yes        yes             yes
    PartnerRateLimited    yes        no              yes
    PartnerTimeout        yes        yes             yes
    PartnerAuthError      no         no              no
    PartnerRejected       no         no              no
    PartnerServerError    no         yes             yes
    PartnerProtocolError  no         yes             yes
    CallNotSent           no         no              no

`retryable`: a retry (same request, same idempotency key) may succeed. `effect_unknown`: the
partner may have done it anyway (a lost answer, a 5xx after the work, an unreadable 200), so a
mutation must be repeated with the same key before anything is assumed either way; a refusal
is an answer, and a call that never left did nothing. `counts_against_breaker`: the partner
is failing; a refusal means the partner is up, and a call that never left says nothing.
"""

from __future__ import annotations


class AdapterError(Exception):
    """A call to a partner failed. `outcome` is a short machine-readable label."""

    retryable = False
    # The safe defaults for a failure nobody classified: it may have happened, and it counts.
    effect_unknown = True
    counts_against_breaker = True
    outcome = "unavailable"

    def __init__(self, partner_id: str, message: str) -> None:
        super().__init__(f"{partner_id}: {message}")
        self.partner_id = partner_id
        self.message = message


class PartnerUnavailable(AdapterError):
    # A 502/504 or a reset connection can come after the partner did the work.
    retryable = True

    def __init__(self, partner_id: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(partner_id, message)
        self.retry_after_s = retry_after_s


class PartnerRateLimited(PartnerUnavailable):
    # A 429 is sent instead of doing the work.
    effect_unknown = False
    outcome = "rate_limited"


class PartnerTimeout(AdapterError):
    retryable = True
    outcome = "timeout"


class PartnerAuthError(AdapterError):
    effect_unknown = False
    counts_against_breaker = False
    outcome = "auth_failed"


class PartnerRejected(AdapterError):
    effect_unknown = False
    counts_against_breaker = False
    outcome = "rejected"

    def __init__(
        self, partner_id: str, message: str, *, status: int, code: str, field: str | None = None
    ) -> None:
        super().__init__(partner_id, message)
        self.status = status
        self.code = code
        self.field = field


class BookingNotFound(PartnerRejected):
    """The partner has no booking with the reference asked for (a 404 to `retrieve`)."""

    outcome = "not_found"


class PartnerServerError(AdapterError):
    outcome = "partner_error"


class PartnerProtocolError(AdapterError):
    # The partner answered, but not in a way we can read: whatever it did stays unknown.
    outcome = "protocol_error"


class CallNotSent(AdapterError):
    """The call was refused on our side before it left: the partner never saw it."""

    effect_unknown = False
    counts_against_breaker = False
    outcome = "not_sent"
