"""Errors a sandbox partner answers with, in the protocol's `{"error": {...}}` shape.

`PartnerError` is the one root: it carries the HTTP status, the protocol error code, an
optional offending field and extra headers (`Retry-After`, `WWW-Authenticate`).
`CatalogueError` is the public subclass a catalogue raises for a request it cannot price.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CatalogueError", "MalformedAnswer", "PartnerError", "code_for_status"]

# The protocol's status → code table (docs/partner-protocol.md, "Errors").
_CODES: Mapping[int, str] = {
    400: "invalid_request",
    401: "invalid_token",
    404: "not_found",
    409: "conflict",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal",
    502: "unavailable",
    503: "unavailable",
    504: "unavailable",
}


def code_for_status(status: int) -> str:
    """The protocol error code for an HTTP status (`internal` for anything unlisted ≥ 500)."""
    if status in _CODES:
        return _CODES[status]
    return "internal" if status >= 500 else "invalid_request"


class PartnerError(Exception):
    """An answer other than success, raised anywhere in a partner and rendered once."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body: `{"error": {"code", "message", "field"?}}`."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class CatalogueError(PartnerError):
    """A request a catalogue cannot price; by default `400 invalid_request` naming the field."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        *,
        status: int = 400,
        code: str = "invalid_request",
    ) -> None:
        super().__init__(status, code, message, field)


class MalformedAnswer(PartnerError):
    """An injected fault: the partner answers 200 with a body that is not valid JSON."""

    BODY = b'{"offers": [{"offer_id": "of_'

    def __init__(self) -> None:
        super().__init__(200, "malformed", "injected malformed answer")
