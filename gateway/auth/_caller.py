"""The authenticated caller of the RPC being handled, for the handlers to read."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from gateway.errors import PartnerMismatchError

__all__ = ["Caller", "caller_partner_id", "current_caller"]


@dataclass(frozen=True)
class Caller:
    """Who an access token says is calling."""

    partner_id: str
    """The `client_id` claim (else `sub`): a registered partner."""
    scopes: frozenset[str]
    issuer: str
    token_id: str | None = None
    session: str | None = None
    """For a customer-session token (RFC 8693: `act` names the partner), the pseudonymous
    customer session (`sub`): the caller then sees only that session's solutions and
    orders. None for a partner's own token."""


_CURRENT: ContextVar[Caller | None] = ContextVar("gateway_auth_caller", default=None)


def current_caller() -> Caller | None:
    """The caller of this RPC, or None when the gateway does not authenticate callers."""
    return _CURRENT.get()


def set_caller(caller: Caller) -> None:
    """Set by the authentication interceptor, in the RPC's own context, before the handler."""
    _CURRENT.set(caller)


def caller_partner_id(request_value: str) -> str:
    """The partner an RPC acts for: the authenticated caller when callers are authenticated
    (a request naming another partner is refused), else the partner the request names."""
    caller = _CURRENT.get()
    if caller is None:
        return request_value
    if request_value and request_value != caller.partner_id:
        raise PartnerMismatchError(
            "the request names another partner than the caller",
            {"caller": caller.partner_id},
        )
    return caller.partner_id
