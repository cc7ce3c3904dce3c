"""The gateway's error tree. Each error knows its gRPC status and whether a retry may help.

    GatewayError                    INTERNAL; the root, never raised itself
    ├── InvalidRequestError         INVALID_ARGUMENT + BadRequest field violations
    ├── RequestIdReusedError        INVALID_ARGUMENT: same request_id, other content (AIP-155)
    ├── MalformedRequestError       INVALID_ARGUMENT: the bytes are not the method's message
    ├── NotFoundError               NOT_FOUND
    ├── NoRecipeError               FAILED_PRECONDITION: no recipe for this entry kind
    ├── DeadlineTooShortError       DEADLINE_EXCEEDED: no time left to ask any partner
    ├── RateLimitedError            RESOURCE_EXHAUSTED (retryable after `retry_after_s`)
    ├── StorageUnavailableError     UNAVAILABLE (retryable): the store cannot be reached
    ├── AuthenticationError         UNAUTHENTICATED: no valid access token (TOKEN_INVALID)
    │   ├── TokenMissingError           TOKEN_MISSING: no `authorization: Bearer` metadata
    │   ├── TokenExpiredError           TOKEN_EXPIRED
    │   ├── IssuerUntrustedError        ISSUER_UNTRUSTED: `iss` is not a trusted issuer
    │   └── AudienceMismatchError       AUDIENCE_MISMATCH: `aud` does not name the gateway
    ├── IssuerKeysUnavailableError  UNAVAILABLE (retryable): the issuer's keys cannot be fetched
    └── PermissionDeniedError       PERMISSION_DENIED: authenticated, but not allowed
        ├── PartnerUnknownError         PARTNER_UNKNOWN: the caller is no registered partner
        ├── ScopeMissingError           SCOPE_MISSING: the token lacks the RPC's scope
        └── PartnerMismatchError        PARTNER_MISMATCH: the request names another partner

`gateway.interceptors.ErrorInterceptor` turns them into `google.rpc.Status` with one
`ErrorInfo` (domain `partnergateway.v1`), plus `BadRequest`/`RetryInfo` where they fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import grpc

ERROR_DOMAIN = "partnergateway.v1"


@dataclass(frozen=True)
class FieldViolation:
    """One problem with one request field; `field` is a dotted path (`entry.flight.origin`)."""

    field: str
    description: str
    reason: str = "INVALID_FIELD"


@dataclass(frozen=True)
class LocalizedText:
    """The error told in the caller's language (AIP-193 `LocalizedMessage`)."""

    locale: str
    message: str


class GatewayError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: str = "INTERNAL"
    retry_after_s: float | None = None
    # Set where the request's language is known; the error edge adds it to the status.
    localized: LocalizedText | None = None

    def __init__(self, message: str, metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = dict(metadata or {})


class InvalidRequestError(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "INVALID_REQUEST"

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        fields = ", ".join(v.field for v in violations)
        super().__init__(f"invalid request: {fields}", {"fields": fields})
        self.violations = tuple(violations)


class RequestIdReusedError(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "REQUEST_ID_REUSED"


class MalformedRequestError(GatewayError):
    """The request could not be parsed as the protobuf message its method takes."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "MALFORMED_REQUEST"


class NotFoundError(GatewayError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "NOT_FOUND"


class NoRecipeError(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "NO_RECIPE"


class DeadlineTooShortError(GatewayError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = "DEADLINE_TOO_SHORT"


class StorageUnavailableError(GatewayError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = "STORAGE_UNAVAILABLE"
    retry_after_s = 1.0


class RateLimitedError(GatewayError):
    """The caller used up its request rate; `retry_after_s` is the wait for the next token."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RATE_LIMITED"

    def __init__(
        self, message: str, retry_after_s: float, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, metadata)
        self.retry_after_s = retry_after_s


# -- authentication (gateway.auth) ------------------------------------------------------------


class AuthenticationError(GatewayError):
    """The call carries no acceptable access token; the message never repeats the token."""

    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "TOKEN_INVALID"


class TokenMissingError(AuthenticationError):
    reason = "TOKEN_MISSING"


class TokenExpiredError(AuthenticationError):
    reason = "TOKEN_EXPIRED"


class IssuerUntrustedError(AuthenticationError):
    reason = "ISSUER_UNTRUSTED"


class AudienceMismatchError(AuthenticationError):
    reason = "AUDIENCE_MISMATCH"


class IssuerKeysUnavailableError(GatewayError):
    """A trusted issuer's key set could not be fetched: the token can be neither accepted nor
    refused yet."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "ISSUER_KEYS_UNAVAILABLE"
    retry_after_s = 1.0


class PermissionDeniedError(GatewayError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class PartnerUnknownError(PermissionDeniedError):
    reason = "PARTNER_UNKNOWN"


class ScopeMissingError(PermissionDeniedError):
    reason = "SCOPE_MISSING"


class PartnerMismatchError(PermissionDeniedError):
    reason = "PARTNER_MISMATCH"
