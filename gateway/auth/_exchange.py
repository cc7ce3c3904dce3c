"""Customer-session tokens: OAuth 2.0 Token Exchange (RFC 8693) at the embedded issuer.

A partner's backend — never the page — authenticates as the partner (as for client
credentials) and sends its own access token as the `subject_token`. It gets back a short-lived
access token for one customer session, which is all the browser ever holds:

- `sub`: a new pseudonymous session id (`cs_…`), nothing about the customer;
- `act`: `{"sub": <partner>}` — the partner acts for that session (RFC 8693 §4.1);
- `client_id`: the partner, so the gateway counts and limits the calls as the partner's;
- `aud`: the gateway; `exp`: `auth.issuer.session_token_ttl_s` ahead (at most 15 minutes);
- `scope`: what the page asked for (`scope`), else everything a session may do
  (`SESSION_SCOPES`: compose, read, book) — in both cases only scopes the partner's own token
  carries. Asking for more is `invalid_scope`: a partner cannot exchange for a scope it does
  not hold, nor hand a customer a partner-only scope.

The gateway then lets the token call only the session RPCs (`SESSION_RPCS`) on that session's
own solutions and orders (gateway/callers.py). A session token cannot be exchanged again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.auth._issuer import IssuerClient, OAuthError, TokenIssuer
from gateway.auth._scopes import SESSION_SCOPES

__all__ = ["ACCESS_TOKEN_TYPE", "SESSION_PREFIX", "exchange"]

log = logging.getLogger(__name__)

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SESSION_PREFIX = "cs_"


def _invalid_request(description: str) -> OAuthError:
    return OAuthError(400, "invalid_request", description)


def _subject_claims(issuer: TokenIssuer, client: IssuerClient, form: Mapping[str, str]) -> Any:
    token = form.get("subject_token")
    if not token:
        raise _invalid_request("subject_token is required")
    if form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
        raise _invalid_request(f"subject_token_type must be {ACCESS_TOKEN_TYPE}")
    if "actor_token" in form or "actor_token_type" in form:
        raise _invalid_request("actor_token is not supported: the client is the actor")
    requested = form.get("requested_token_type")
    if requested not in (None, ACCESS_TOKEN_TYPE):
        raise _invalid_request(f"only {ACCESS_TOKEN_TYPE} can be requested")
    claims = issuer.verify_own(token)
    if claims is None:
        raise OAuthError(400, "invalid_grant", "the subject_token is not a valid access token")
    if claims.get("client_id") != client.client_id:
        raise OAuthError(400, "invalid_grant", "the subject_token was issued to another client")
    if "act" in claims:
        raise OAuthError(400, "invalid_grant", "a customer-session token cannot be exchanged")
    return claims


def _granted(scope: str | None, held: Sequence[str]) -> list[str]:
    if scope:
        requested = list(dict.fromkeys(scope.split()))
        not_for_sessions = [s for s in requested if s not in SESSION_SCOPES]
        if not_for_sessions:
            raise OAuthError(
                400,
                "invalid_scope",
                f"not for a customer session: {' '.join(not_for_sessions)}",
            )
        not_held = [s for s in requested if s not in held]
        if not_held:
            raise OAuthError(
                400, "invalid_scope", f"the subject_token does not carry: {' '.join(not_held)}"
            )
        return requested
    granted = [s for s in SESSION_SCOPES if s in held]
    if not granted:
        raise OAuthError(400, "invalid_scope", "the subject_token carries no session scope")
    return granted


def exchange(
    issuer: TokenIssuer,
    client: IssuerClient,
    form: Mapping[str, str],
    resources: Sequence[str],
    audiences: Sequence[str],
) -> dict[str, Any]:
    """The token response (RFC 8693 §2.2) for an authenticated `client`'s exchange request."""
    claims = _subject_claims(issuer, client, form)
    # RFC 8707 `resource` and RFC 8693 `audience`: the only one this issuer serves is the gateway.
    if any(target != issuer.audience for target in (*resources, *audiences)):
        raise OAuthError(400, "invalid_target", f"the only audience is {issuer.audience}")
    carried = str(claims.get("scope", "")).split()
    held = [s for s in carried if s in client.scopes]
    granted = " ".join(_granted(form.get("scope"), held))
    session = f"{SESSION_PREFIX}{secrets.token_urlsafe(16)}"
    token = issuer.sign(
        {"sub": session, "client_id": client.client_id, "act": {"sub": client.client_id}},
        granted,
        issuer.session_ttl_s,
    )
    log.info("issued a customer-session token to %s (scope %s)", client.client_id, granted)
    return {
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "Bearer",
        "expires_in": issuer.session_ttl_s,
        "scope": granted,
    }
