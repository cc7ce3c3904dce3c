"""Validating bearer access tokens as RFC 9068 (JWT profile for OAuth 2.0 access tokens) says.

joserfc verifies signatures and the time claims, but checks neither `typ` nor a missing
`exp`, and would take a key from anywhere it is given one. So, in order:

1. the token is a JWS in compact form whose header says `typ` `at+jwt` (or
   `application/at+jwt`) and an `alg` from the pinned list (ES256, RS256: no `none`, no HMAC);
2. its (not yet verified) `iss` is a configured trusted issuer — an untrusted issuer's keys
   are never fetched — and that issuer allows the `alg`;
3. the key is the issuer's, from its JWKS (`gateway.auth._jwks`), chosen by `kid`; keys named
   in the token's header (`jwk`, `jku`, `x5u`, `x5c`) are ignored;
4. the signature verifies with exactly that algorithm;
5. `exp` is present and not past, `nbf` and `iat` are not in the future (each with the leeway);
6. `aud` names the gateway;
7. the caller is `client_id` (else `sub`), and its scopes are `scope` (space-separated) or `scp`;
8. a token with an `act` claim (RFC 8693 §4.1) is a customer-session token: `act.sub` must be
   its client, and its `sub` — another name than the client's — is the customer session.

A partner sends the same token with thousands of calls, so a token that passed is
remembered — by the whole token, header and claims included, never by its signature alone —
until it expires (`exp` + leeway): a repeat costs a dictionary lookup and a clock reading
instead of a signature check. At most `MAX_REMEMBERED` tokens are kept, the oldest dropped
first; a token that failed is never remembered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError, MissingClaimError

from gateway.auth._compact import unverified_parts
from gateway.auth._jwks import IssuerKeys
from gateway.callers import Caller
from gateway.errors import (
    AudienceMismatchError,
    AuthenticationError,
    IssuerUntrustedError,
    TokenExpiredError,
)

__all__ = ["SUPPORTED_ALGORITHMS", "TOKEN_TYPES", "TokenValidator", "TrustedIssuer"]

SUPPORTED_ALGORITHMS = frozenset({"ES256", "RS256"})
TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
# Far above any real access token; bounds the work an anonymous caller can cause.
MAX_TOKEN_LENGTH = 16 * 1024
# Verified tokens remembered: far more partners and customer sessions than are active at once.
MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose tokens are accepted, with its keys and the algorithms it may use."""

    keys: IssuerKeys
    algorithms: frozenset[str] = SUPPORTED_ALGORITHMS

    @property
    def issuer(self) -> str:
        return self.keys.issuer


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, str):
        return frozenset(scp.split())
    if isinstance(scp, list) and all(isinstance(s, str) for s in scp):
        return frozenset(scp)
    return frozenset()


def _session(claims: Mapping[str, Any], partner_id: str) -> str | None:
    """The customer session of a token issued by token exchange, None for any other token."""
    if "act" not in claims:
        return None
    act = claims["act"]
    if not isinstance(act, dict) or act.get("sub") != partner_id:
        raise AuthenticationError("the token's actor (act) is not its client")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or sub == partner_id:
        raise AuthenticationError("a customer-session token names no customer session (sub)")
    return sub


class TokenValidator:
    """Turns a bearer token into a `Caller`, or raises an `AuthenticationError` saying why."""

    def __init__(
        self,
        issuers: Collection[TrustedIssuer],
        audience: str,
        leeway_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = {i.issuer: i for i in issuers}
        self._audience = audience
        self._leeway_s = leeway_s
        self._clock = clock
        # token -> (its caller, the instant it stops being accepted); insertion ordered.
        self._verified: dict[str, tuple[Caller, float]] = {}

    async def validate(self, token: str) -> Caller:
        remembered = self._verified.get(token)
        if remembered is not None:
            caller, until = remembered
            if self._clock() < until:
                return caller
            del self._verified[token]
            raise TokenExpiredError("the token has expired")
        caller, claims = await self._verify(token)
        exp = claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            if len(self._verified) >= MAX_REMEMBERED:
                del self._verified[next(iter(self._verified))]
            # joserfc refuses a token once `exp <= int(now) - leeway`: the same instant.
            self._verified[token] = (caller, exp + self._leeway_s)
        return caller

    async def _verify(self, token: str) -> tuple[Caller, dict[str, Any]]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthenticationError("the token is too long")
        parts = unverified_parts(token)
        if parts is None:
            raise AuthenticationError("the token is not a signed JWT")
        header, unverified = parts

        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in TOKEN_TYPES:
            raise AuthenticationError("the token is not an access token (typ at+jwt, RFC 9068)")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
            raise AuthenticationError(f"tokens signed with {alg!r} are not accepted")
        if "crit" in header:
            raise AuthenticationError("the token uses header extensions the gateway ignores")
        iss = unverified.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise IssuerUntrustedError("the token's issuer is not trusted")
        if alg not in issuer.algorithms:
            raise AuthenticationError(f"the token's issuer may not sign with {alg}")
        kid = header.get("kid")
        if not isinstance(kid, str | None):
            raise AuthenticationError("the token's key id is not a string")

        key = await issuer.keys.key(kid, alg)
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except (JoseError, ValueError):
            raise AuthenticationError("the token's signature does not verify") from None
        self._check_times(claims)
        self._check_audience(claims)

        partner_id = claims.get("client_id") or claims.get("sub")
        if not isinstance(partner_id, str) or not partner_id:
            raise AuthenticationError("the token names no client (client_id or sub)")
        jti = claims.get("jti")
        caller = Caller(
            partner_id=partner_id,
            scopes=_scopes(claims),
            issuer=issuer.issuer,
            token_id=jti if isinstance(jti, str) else None,
            session=_session(claims, partner_id),
        )
        return caller, claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()), leeway=self._leeway_s, exp={"essential": True}
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise TokenExpiredError("the token has expired") from None
        except MissingClaimError:
            raise AuthenticationError("the token has no expiry (exp)") from None
        except JoseError as exc:
            # Never the token itself; the claim name and joserfc's reason only.
            raise AuthenticationError(f"the token's claims are invalid: {exc}") from None

    def _check_audience(self, claims: dict[str, Any]) -> None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self._audience not in audiences:
            raise AudienceMismatchError("the token is meant for another audience")
