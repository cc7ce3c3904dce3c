"""The one error tree callers of an adapter ever see.

Adapters translate HTTP-library, OAuth and JSON errors into these at the boundary
(`raise ... from exc`), so nothing above an adapter imports httpx2, aiohttp or Authlib.

    AdapterError                 every partner failure; `retryable` says if a retry may help
    ├── PartnerUnavailable       connection refused/reset, 502/503/504 (retryable)
    │   └── PartnerRateLimited   429 (retryable, after `retry_after_s`)
    ├── PartnerTimeout           no answer within the budget (retryable)
    ├── PartnerAuthError         the partner refused our credentials or token
    ├── PartnerRejected          4xx: the partner will not serve this request (never retried)
    │   └── BookingNotFound      404 to a retrieve: the partner knows no booking by that reference
    ├── PartnerServerError       500: the partner failed; not retried, the effect is unknown
    └── PartnerProtocolError     the answer does not follow the partner's protocol
"""

from __future__ import annotations


class AdapterError(Exception):
    """A call to a partner failed. `outcome` is a short machine-readable label."""

    retryable = False
    outcome = "unavailable"

    def __init__(self, partner_id: str, message: str) -> None:
        super().__init__(f"{partner_id}: {message}")
        self.partner_id = partner_id
        self.message = message


class PartnerUnavailable(AdapterError):
    retryable = True

    def __init__(self, partner_id: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(partner_id, message)
        self.retry_after_s = retry_after_s


class PartnerRateLimited(PartnerUnavailable):
    outcome = "rate_limited"


class PartnerTimeout(AdapterError):
    retryable = True
    outcome = "timeout"


class PartnerAuthError(AdapterError):
    outcome = "auth_failed"


class PartnerRejected(AdapterError):
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
    outcome = "protocol_error"
