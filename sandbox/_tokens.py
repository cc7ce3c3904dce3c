"""The partner's OAuth side: its signing key, JWKS, minting and checking access tokens.

Access tokens are RFC 9068 JWTs signed ES256 with a P-256 key generated when the partner
starts. Checking pins the algorithm, checks `typ` and `kid` ourselves (joserfc checks
neither) and requires `exp`, `iss`, `aud`, `sub` and a registered `client_id`.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import ECKey

from sandbox._clock import Clock
from sandbox._errors import PartnerError

__all__ = ["DEFAULT_SCOPE", "TokenAuthority"]

#: The scopes a client gets when it asks for none.
DEFAULT_SCOPE = "quotes bookings"
_ALGORITHM = "ES256"
_TOKEN_TYPES = ("at+jwt", "application/at+jwt")


def _invalid_token(message: str) -> PartnerError:
    return PartnerError(
        401,
        "invalid_token",
        message,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


class TokenAuthority:
    """Issues and checks one partner's access tokens."""

    def __init__(
        self, *, issuer: str, audience: str, clients: Mapping[str, str], clock: Clock
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._clients = clients
        self._clock = clock
        #: The signing key (private); tests may sign forged tokens with it.
        self.key: ECKey = ECKey.generate_key("P-256", private=True, auto_kid=True)
        kid = self.key.kid
        assert kid is not None  # auto_kid sets the RFC 7638 thumbprint
        self.kid: str = kid

    def jwks(self) -> dict[str, Any]:
        """The public key set served at `/.well-known/jwks.json`."""
        public = self.key.as_dict(private=False, use="sig", alg=_ALGORITHM)
        return {"keys": [dict(public)]}

    def client_is_valid(self, client_id: str, secret: str) -> bool:
        """Whether `secret` is the client's registered secret (compared in constant time)."""
        expected = self._clients.get(client_id)
        return expected is not None and hmac.compare_digest(expected.encode(), secret.encode())

    def mint(
        self,
        client_id: str,
        *,
        ttl_s: int,
        scope: str = DEFAULT_SCOPE,
        now: float | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> str:
        """A signed access token; `audience`/`issuer`/`now` let tests forge bad ones."""
        issued_at = int(self._clock() if now is None else now)
        claims = {
            "iss": issuer or self.issuer,
            "aud": audience or self.audience,
            "sub": client_id,
            "client_id": client_id,
            "iat": issued_at,
            "exp": issued_at + ttl_s,
            "jti": secrets.token_urlsafe(16),
            "scope": scope,
        }
        header = {"alg": _ALGORITHM, "typ": "at+jwt", "kid": self.kid}
        return jwt.encode(header, claims, self.key, algorithms=[_ALGORITHM])

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """The claims of a valid `Authorization: Bearer` token, else `401 invalid_token`."""
        if not authorization:
            raise _invalid_token("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _invalid_token("expected an Authorization: Bearer token")
        try:
            decoded = jwt.decode(token, self.key, algorithms=[_ALGORITHM])
        except (JoseError, ValueError):
            raise _invalid_token("token is malformed or not signed by this partner") from None
        typ = decoded.header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in _TOKEN_TYPES:
            raise _invalid_token("token type is not at+jwt")
        if decoded.header.get("kid") != self.kid:
            raise _invalid_token("token key id is unknown")
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except ExpiredTokenError:
            raise _invalid_token("token has expired") from None
        except JoseError as exc:
            raise _invalid_token(f"token claims are invalid: {exc}") from None
        client_id = decoded.claims["client_id"]
        if not isinstance(client_id, str) or client_id not in self._clients:
            raise _invalid_token("token client is not registered")
        return decoded.claims
